"""Which sender shape a delivery is, and what it becomes."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from app.adapters.jira.mapping import JiraMapping
from app.adapters.jira.webhook import parse_delivery
from app.domain.deliveries import Ignored
from app.domain.issues import IssueDeleted, IssueUpserted
from app.errors import InvalidPayload

NOW = datetime(2025, 1, 18, 9, 0, tzinfo=UTC)
ISSUE: dict[str, Any] = {"id": 10873, "key": "OPS-1482", "fields": {"summary": "s", "issuetype": {"name": "Incident"}}}


def _parse(body: Any) -> Any:
    return parse_delivery(body, JiraMapping.build(), received_at=NOW)


@pytest.mark.parametrize("body", [{"issue": ISSUE}, ISSUE, {"webhookEvent": None, "issue": ISSUE}])
def test_automation_issue_data_wrapped_or_bare_is_the_issue_as_it_is_now(body: dict[str, Any]) -> None:
    change = _parse(body)
    assert isinstance(change, IssueUpserted)
    assert (change.snapshot.jira_issue_id, change.snapshot.payload.updated_at) == ("10873", NOW)


def test_a_deletion_is_dated_by_the_delivery_timestamp() -> None:
    change = _parse({"webhookEvent": "jira:issue_deleted", "timestamp": 1737216000000, "issue": ISSUE})
    assert change == IssueDeleted("10873", "OPS-1482", deleted_at=datetime(2025, 1, 18, 16, 0, tzinfo=UTC))


def test_a_deletion_without_a_timestamp_is_dated_by_its_arrival() -> None:
    change = _parse({"webhookEvent": "jira:issue_deleted", "issue": {"id": "1", "key": "A-1"}})
    assert change == IssueDeleted("1", "A-1", deleted_at=NOW)


@pytest.mark.parametrize(
    ("event", "ignored"),
    [
        ("sprint_started", "sprint_started"),
        ("jira:worklog_updated", "jira:worklog_updated"),
        ("evil\nINFO forged log line <script>", "evilINFOforgedloglinescript"),
        ("\u2603", "unknown"),
    ],
)
def test_other_events_are_ignored_under_a_name_safe_to_echo(event: str, ignored: str) -> None:
    assert _parse({"webhookEvent": event, "whatever": [1, 2]}) == Ignored(ignored)


@pytest.mark.parametrize(
    ("body", "problem"),
    [
        ([], "not an array"),
        (None, "not null"),
        (True, "not a boolean"),
        (3, "not a number"),
        ({}, "no 'webhookEvent' and no 'issue'"),
    ],
)
def test_what_is_not_a_jira_body_is_refused_saying_what_it_is(body: Any, problem: str) -> None:
    with pytest.raises(InvalidPayload, match=problem):
        _parse(body)
