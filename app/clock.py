"""Time: one clock and one wire format for every timestamp the service emits."""

from __future__ import annotations

from datetime import UTC, datetime


def utcnow() -> datetime:
    return datetime.now(UTC)


def iso(moment: datetime) -> str:
    """ISO 8601 in UTC with milliseconds and a `Z`: `2025-01-17T10:30:00.000Z`."""
    if moment.tzinfo is None:
        raise ValueError("naive datetimes have no place on the wire")
    return moment.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")
