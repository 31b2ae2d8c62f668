"""The rules of change for an issue, and who counts as newly assigned."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from app.contract.payloads import IncidentData, TaskData, TaskStatus
from app.domain.issues import (
    IssueDeleted,
    IssueSnapshot,
    IssueStep,
    IssueUpserted,
    newly_assigned,
    plan_issue_change,
)

T0 = datetime(2025, 1, 17, 10, 30, tzinfo=UTC)


def _task(
    updated: datetime = T0, assignee: str | None = None, ids: frozenset[str] = frozenset(), status: TaskStatus = "todo"
) -> IssueSnapshot:
    payload = TaskData(
        id="task-1",
        jira_id="OPS-1",
        title="t",
        status=status,
        squad="ops",
        created_at=T0,
        updated_at=updated,
        assignee=assignee,
    )
    return IssueSnapshot("1", payload, assignee_ids=ids)


def _incident(updated: datetime = T0, ids: frozenset[str] = frozenset()) -> IssueSnapshot:
    payload = IncidentData(
        id="inc-1",
        jira_id="OPS-1",
        title="t",
        severity="high",
        status="open",
        squad="ops",
        created_at=T0,
        updated_at=updated,
    )
    return IssueSnapshot("1", payload, assignee_ids=ids)


def test_a_new_issue_is_created() -> None:
    assert plan_issue_change(None, IssueUpserted(_task())) == [IssueStep("created", _task())]


def test_an_older_update_changes_nothing() -> None:
    assert plan_issue_change(_task(T0), IssueUpserted(_task(T0 - timedelta(milliseconds=1), status="done"))) == []


def test_an_update_changing_nothing_carried_changes_nothing() -> None:
    assert plan_issue_change(_task(T0), IssueUpserted(_task(T0))) == []


def test_a_newer_update_updates() -> None:
    later = _task(T0 + timedelta(seconds=1))
    assert plan_issue_change(_task(T0), IssueUpserted(later)) == [IssueStep("updated", later)]


def test_a_kind_change_is_a_deletion_then_a_creation() -> None:
    moved = _incident(T0 + timedelta(seconds=1))
    assert plan_issue_change(_task(T0), IssueUpserted(moved)) == [
        IssueStep("deleted", _task(T0)),
        IssueStep("created", moved),
    ]


def test_an_update_made_before_the_deletion_does_not_recreate_the_issue() -> None:
    deleted_at = T0 + timedelta(minutes=5)
    assert plan_issue_change(None, IssueUpserted(_task(T0 + timedelta(minutes=1))), deleted_at=deleted_at) == []
    assert plan_issue_change(None, IssueUpserted(_task(deleted_at)), deleted_at=deleted_at) == []


def test_an_issue_changed_after_its_deletion_was_restored_and_is_created_again() -> None:
    restored = _task(T0 + timedelta(days=1))
    assert plan_issue_change(None, IssueUpserted(restored), deleted_at=T0) == [IssueStep("created", restored)]


def test_deleting_deletes_what_is_stored_or_nothing() -> None:
    assert plan_issue_change(_task(), IssueDeleted("1", "OPS-1")) == [IssueStep("deleted", _task())]
    assert plan_issue_change(None, IssueDeleted("1", "OPS-1")) == []


def test_an_issue_created_with_an_addressable_assignee_is_newly_assigned() -> None:
    created = _task(assignee="Marcus", ids=frozenset({"5b10"}))
    assert newly_assigned(None, [IssueStep("created", created)]) == created


def test_an_assignee_nobody_can_address_is_not_notified() -> None:
    assert newly_assigned(None, [IssueStep("created", _task(assignee="Marcus"))]) is None


def test_another_person_is_newly_assigned_the_same_person_renamed_is_not() -> None:
    before = _task(assignee="Marcus", ids=frozenset({"5b10"}))
    renamed = _task(T0 + timedelta(seconds=1), assignee="Marcus Chen", ids=frozenset({"5b10"}))
    other = _task(T0 + timedelta(seconds=1), assignee="Priya", ids=frozenset({"7120"}))
    assert newly_assigned(before, [IssueStep("updated", renamed)]) is None
    assert newly_assigned(before, [IssueStep("updated", other)]) == other


def test_without_stored_identifiers_the_assignee_label_decides() -> None:
    before = _task(assignee="Marcus")
    same = _task(T0 + timedelta(seconds=1), assignee="Marcus", ids=frozenset({"5b10"}))
    other = _task(T0 + timedelta(seconds=1), assignee="Priya", ids=frozenset({"7120"}))
    assert newly_assigned(before, [IssueStep("updated", same)]) is None
    assert newly_assigned(before, [IssueStep("updated", other)]) == other


def test_a_move_keeps_its_assignee_and_a_deletion_assigns_nobody() -> None:
    task = _task(assignee="Marcus", ids=frozenset({"5b10"}))
    incident = _incident(T0 + timedelta(seconds=1), ids=frozenset({"5b10"}))
    assert newly_assigned(task, [IssueStep("deleted", task), IssueStep("created", incident)]) is None
    assert newly_assigned(task, [IssueStep("deleted", task)]) is None
    assert newly_assigned(task, []) is None


def test_a_change_that_does_not_name_its_kind_takes_the_stored_one() -> None:
    later_task, later_incident = _task(T0 + timedelta(seconds=1)), _incident(T0 + timedelta(seconds=1))
    unnamed = IssueUpserted(later_task, other_kind=later_incident)
    assert plan_issue_change(_incident(T0), unnamed) == [IssueStep("updated", later_incident)]
    assert plan_issue_change(_task(T0), unnamed) == [IssueStep("updated", later_task)]
    assert plan_issue_change(None, unnamed) == [IssueStep("created", later_task)]
