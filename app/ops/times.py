"""Times an operator types: a duration back from now (`90m`, `2h`, `7d`) or a moment
(`2025-01-17`, `2025-01-17T10:30:00Z`)."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([smhdw])\s*$")
_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 7 * 86400}


class TimeError(ValueError):
    """Not a duration or a moment; the message says what is accepted."""


def parse_moment(text: str, *, now: datetime) -> datetime:
    """`text` as a moment: a duration before `now`, or an ISO 8601 date or time (UTC unless it says)."""
    duration = _DURATION.match(text)
    if duration is not None:
        return now - timedelta(seconds=float(duration.group(1)) * _UNITS[duration.group(2)])
    try:
        moment = datetime.fromisoformat(text.strip())
    except ValueError:
        raise TimeError(
            f"{text[:40]!r} is neither a duration (30m, 2h, 7d, 2w) nor an ISO 8601 time (2025-01-17T10:30:00Z)"
        ) from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    if moment > now:
        raise TimeError(f"{text[:40]!r} is in the future")
    return moment
