"""Times an operator types for --since and --until."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from app.ops.times import TimeError, parse_moment

NOW = datetime(2025, 1, 17, 12, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("90s", NOW - timedelta(seconds=90)),
        ("30m", NOW - timedelta(minutes=30)),
        ("2h", NOW - timedelta(hours=2)),
        ("1.5d", NOW - timedelta(hours=36)),
        ("2w", NOW - timedelta(days=14)),
        ("2025-01-17", datetime(2025, 1, 17, tzinfo=UTC)),
        ("2025-01-17T10:30:00Z", datetime(2025, 1, 17, 10, 30, tzinfo=UTC)),
        ("2025-01-17T11:30:00+01:00", datetime(2025, 1, 17, 10, 30, tzinfo=UTC)),
    ],
)
def test_a_duration_counts_back_from_now_and_a_time_without_zone_is_utc(text: str, expected: datetime) -> None:
    assert parse_moment(text, now=NOW) == expected


@pytest.mark.parametrize(
    ("text", "says"), [("yesterday", "neither a duration"), ("5 parsecs", "neither"), ("2025-02-01", "future")]
)
def test_anything_else_is_refused_in_words(text: str, says: str) -> None:
    with pytest.raises(TimeError, match=says):
        parse_moment(text, now=NOW)
