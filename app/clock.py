"""Time: one clock and one wire format for every timestamp the service emits."""

from __future__ import annotations

import functools
from datetime import UTC, datetime


def utcnow() -> datetime:
    return datetime.now(UTC)


def iso(moment: datetime) -> str:
    """ISO 8601 in UTC with milliseconds and a `Z`: `2025-01-17T10:30:00.000Z`."""
    if moment.tzinfo is None:
        raise ValueError("naive datetimes have no place on the wire")
    return _formatted(moment.astimezone(UTC))


# A webhook's timestamps are formatted several times over (its size check, its
# row, its event, its message), and `isoformat` with a timespec costs about ten
# times a lookup. Keyed in UTC: two wall times of a DST fold in one zone compare
# equal, their UTC instants do not.
@functools.lru_cache(maxsize=1024)
def _formatted(utc: datetime) -> str:
    return utc.isoformat(timespec="milliseconds").replace("+00:00", "Z")
