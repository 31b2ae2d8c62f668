"""Reading Jira values whichever Jira wrote them."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime
from typing import Any

import pytest

from app.adapters.jira import values
from app.errors import InvalidPayload

MOMENT = datetime(2025, 1, 17, 10, 34, 8, 117000, tzinfo=UTC)


@pytest.mark.parametrize(
    "value",
    [
        "2025-01-17T10:34:08.117+0000",  # Cloud
        "2025-01-17T11:34:08.117+0100",  # Server / Data Center, in the instance's zone
        "2025-01-17T05:34:08.117-0500",
        "2025-01-17T16:04:08.117+05:30",
        "2025-01-17T10:34:08.117Z",
        1737110048117,  # Automation: epoch milliseconds
        "1737110048117",  # the same, as a string
        1737110048.117,  # epoch seconds
    ],
)
def test_every_timestamp_shape_jira_sends_reads_as_the_same_moment(value: Any) -> None:
    assert values.timestamp(value, "t") == MOMENT


def test_a_timestamp_without_a_zone_is_taken_as_utc() -> None:
    assert values.timestamp("2025-01-17T10:34:08.117", "t") == MOMENT


@pytest.mark.parametrize("value", [None, ""])
def test_an_absent_timestamp_is_none(value: Any) -> None:
    assert values.timestamp(value, "t") is None


@pytest.mark.parametrize(
    ("value", "problem"),
    [
        ("yesterday", "'issue.fields.updated' is not a timestamp: 'yesterday'"),
        ([], "'issue.fields.updated' must be a timestamp"),
        (True, "'issue.fields.updated' must be a timestamp"),
        (10**20, "'issue.fields.updated' is not a timestamp"),
    ],
)
def test_a_value_that_is_no_timestamp_is_refused_by_name(value: Any, problem: str) -> None:
    with pytest.raises(InvalidPayload) as refused:
        values.timestamp(value, "issue.fields.updated")
    assert problem in refused.value.message


@pytest.mark.parametrize("value", ["2025-01-31", "2025-01-31T00:00:00.000+0000", 1738281600000])
def test_a_due_date_reads_from_a_date_a_timestamp_or_epoch_milliseconds(value: Any) -> None:
    assert values.day(value, "duedate") == date(2025, 1, 31)


def test_a_due_date_that_is_no_date_is_refused() -> None:
    with pytest.raises(InvalidPayload, match=re.escape("'issue.fields.duedate' is not a date")):
        values.day("31/01/2025", "issue.fields.duedate")


@pytest.mark.parametrize(("value", "expected"), [("10873", "10873"), (10873, "10873"), (" 7 ", "7")])
def test_ids_come_as_strings_or_numbers(value: Any, expected: str) -> None:
    assert values.identifier(value, "issue.id") == expected


@pytest.mark.parametrize(
    ("value", "problem"),
    [(None, "is missing"), ("", "is missing"), (1.5, "must be"), (True, "must be"), ("9" * 65, "is longer than 64")],
)
def test_an_id_must_be_there_and_be_a_string_or_integer(value: Any, problem: str) -> None:
    with pytest.raises(InvalidPayload, match=f"'issue.id' {problem}"):
        values.identifier(value, "issue.id")


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ({"name": "Highest", "id": "1"}, "Highest"),
        ({"id": 1, "namedValue": "Highest"}, "Highest"),  # Automation
        ({"value": "checkout", "id": "10130"}, "checkout"),  # a select option
        ("Highest", "Highest"),
        (3, "3"),
        ({"name": None, "id": "1"}, None),
        ({"name": "  "}, None),
        (None, None),
    ],
)
def test_a_named_object_reads_by_name_named_value_or_option_value(value: Any, expected: str | None) -> None:
    assert values.name_of(value, "issue.fields.priority") == expected


def test_a_name_of_the_wrong_type_is_refused_by_name() -> None:
    with pytest.raises(InvalidPayload, match=re.escape("'issue.fields.priority.name' must be a string")):
        values.name_of({"name": ["High"]}, "issue.fields.priority")


def test_lists_of_names_take_strings_and_named_objects_and_drop_blanks() -> None:
    value = ["squad-checkout", {"name": "edge-proxy"}, {"value": "eu"}, "", None]
    assert values.strings(value, "labels") == ["squad-checkout", "edge-proxy", "eu"]
    assert values.strings("single", "labels") == ["single"]
    assert values.strings(None, "labels") == []
