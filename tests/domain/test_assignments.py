"""The notification a new assignee receives."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from app.contract.payloads import IncidentData, Severity, TaskData
from app.domain.assignments import assignment_notification
from app.domain.issues import IssueSnapshot

T0 = datetime(2025, 1, 17, 10, 30, tzinfo=UTC)


def _incident(severity: Severity, title: str = "Checkout down") -> IssueSnapshot:
    payload = IncidentData(
        id="inc-10873",
        jira_id="OPS-1482",
        title=title,
        severity=severity,
        status="open",
        squad="ops",
        created_at=T0,
        updated_at=T0,
    )
    return IssueSnapshot("10873", payload, assignee_ids=frozenset({"5b10"}))


@pytest.mark.parametrize(("severity", "priority"), [("critical", "high"), ("high", "normal"), ("low", "normal")])
def test_an_incident_assignment_is_high_priority_only_when_critical(severity: Severity, priority: str) -> None:
    notification = assignment_notification(_incident(severity))

    assert notification.id.startswith("notif-")
    assert notification.model_dump(exclude={"id"}) == {
        "title": "New incident assigned",
        "message": "You have been assigned to incident OPS-1482",
        "type": "info",
        "priority": priority,
        "action_url": "/infra?tab=incidents",
        "metadata": {"kind": "incident", "id": "inc-10873", "jira_id": "OPS-1482", "title": "Checkout down"},
    }


def test_a_task_assignment_links_to_the_tasks_tab() -> None:
    payload = TaskData(
        id="task-1", jira_id="OPS-1488", title="t", status="todo", squad="ops", created_at=T0, updated_at=T0
    )
    notification = assignment_notification(IssueSnapshot("1", payload, frozenset({"x"})))

    assert (notification.title, notification.message) == (
        "New task assigned",
        "You have been assigned to task OPS-1488",
    )
    assert (notification.priority, notification.action_url) == ("normal", "/infra?tab=tasks")


def test_a_long_title_rides_in_the_metadata_cut_short() -> None:
    notification = assignment_notification(_incident("low", title='"' * 1024))
    assert notification.metadata is not None
    assert len(notification.metadata["title"].encode()) <= 256
