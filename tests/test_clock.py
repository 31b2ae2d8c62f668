"""The wire format of every timestamp: UTC, milliseconds, a `Z`; the same text however often it is asked for."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest

from app.clock import iso


def _reference(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def test_a_timestamp_is_written_in_utc_with_milliseconds_and_a_z() -> None:
    moment = datetime(2025, 1, 17, 11, 30, 0, 123999, tzinfo=timezone(timedelta(hours=1)))

    assert iso(moment) == "2025-01-17T10:30:00.123Z"
    assert iso(moment) == "2025-01-17T10:30:00.123Z"


def test_the_same_instant_in_any_zone_is_the_same_text_and_distinct_instants_never_share_one() -> None:
    rng = random.Random(3)
    zones = [UTC, timezone(timedelta(hours=-7)), timezone(timedelta(hours=5, minutes=30)), ZoneInfo("Europe/Paris")]
    for _ in range(5000):
        instant = datetime(2000, 1, 1, tzinfo=UTC) + timedelta(microseconds=rng.randrange(10**16))
        moment = instant.astimezone(rng.choice(zones))
        assert iso(moment) == _reference(moment)


def test_the_two_wall_times_of_a_dst_fold_stay_two_instants() -> None:
    paris = ZoneInfo("Europe/Paris")
    first = datetime(2025, 10, 26, 2, 30, tzinfo=paris)
    second = first.replace(fold=1)

    assert (iso(first), iso(second)) == ("2025-10-26T00:30:00.000Z", "2025-10-26T01:30:00.000Z")
    assert (iso(second), iso(first)) == ("2025-10-26T01:30:00.000Z", "2025-10-26T00:30:00.000Z")


def test_a_naive_datetime_is_refused() -> None:
    with pytest.raises(ValueError, match="naive"):
        iso(datetime(2025, 1, 17, 10, 30))  # noqa: DTZ001
