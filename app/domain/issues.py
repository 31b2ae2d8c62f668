"""Jira issues as the service understands them: incidents and tasks.

Adapters turn a sender's payload into one of these changes; the store applies
it. Nothing here knows HTTP, JSON shapes or the database.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from app.contract.payloads import IncidentData, TaskData

IssueKind = Literal["incident", "task"]


def entity_id(kind: IssueKind, jira_issue_id: str) -> str:
    """Ids stay stable when an issue is moved to another project (its key changes, its id does not)."""
    return f"{'inc' if kind == 'incident' else 'task'}-{jira_issue_id}"


@dataclass(frozen=True, slots=True)
class IssueSnapshot:
    """What an issue is now, already mapped to the contract."""

    jira_issue_id: str
    payload: IncidentData | TaskData

    @property
    def kind(self) -> IssueKind:
        return "incident" if isinstance(self.payload, IncidentData) else "task"


@dataclass(frozen=True, slots=True)
class IssueUpserted:
    snapshot: IssueSnapshot


@dataclass(frozen=True, slots=True)
class IssueDeleted:
    jira_issue_id: str
    jira_key: str


IssueChange = IssueUpserted | IssueDeleted


@dataclass(frozen=True, slots=True)
class IssueStep:
    """One change to apply to the store, and to announce."""

    action: Literal["created", "updated", "deleted"]
    snapshot: IssueSnapshot


def plan_issue_change(current: IssueSnapshot | None, change: IssueChange) -> list[IssueStep]:
    """What `change` does to an issue stored as `current`: nothing, one step, or a move.

    Deliveries arrive out of order and repeat: an update older than what is
    stored changes nothing, and so does one that changes nothing we carry.
    """
    if isinstance(change, IssueDeleted):
        return [] if current is None else [IssueStep("deleted", current)]
    incoming = change.snapshot
    if current is None:
        return [IssueStep("created", incoming)]
    if incoming.payload.updated_at < current.payload.updated_at:
        return []
    if incoming.kind != current.kind:
        # An issue type change moves it between incidents and tasks: the
        # dashboard removes it from one list and adds it to the other.
        return [IssueStep("deleted", current), IssueStep("created", incoming)]
    if incoming.payload == current.payload:
        return []
    return [IssueStep("updated", incoming)]
