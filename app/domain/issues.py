"""Jira issues as the service understands them: incidents and tasks.

Adapters turn a sender's payload into one of these changes; the store applies
it. Nothing here knows HTTP, JSON shapes or the database.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
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
    # Who the assignee is to a token (`sub` or `email`): Cloud account id,
    # Server/DC login and key, e-mail address. Not part of the contract.
    assignee_ids: frozenset[str] = frozenset()

    @property
    def kind(self) -> IssueKind:
        return "incident" if isinstance(self.payload, IncidentData) else "task"


@dataclass(frozen=True, slots=True)
class IssueUpserted:
    snapshot: IssueSnapshot
    # For a delivery that does not name the issue type: the same issue as the
    # other kind. The stored kind decides; a new issue is `snapshot`.
    other_kind: IssueSnapshot | None = None

    def as_kind_of(self, current: IssueSnapshot | None) -> IssueSnapshot:
        if self.other_kind is not None and current is not None and current.kind == self.other_kind.kind:
            return self.other_kind
        return self.snapshot


@dataclass(frozen=True, slots=True)
class IssueDeleted:
    jira_issue_id: str
    jira_key: str
    # When Jira deleted it (the delivery's timestamp): updates made before then
    # that arrive late (retries) must not bring the issue back.
    deleted_at: datetime | None = None


@dataclass(frozen=True, slots=True)
class StoredIssue:
    """What the store knows of an issue: its current state, if any, and when it was deleted."""

    snapshot: IssueSnapshot | None = None
    deleted_at: datetime | None = None


IssueChange = IssueUpserted | IssueDeleted


@dataclass(frozen=True, slots=True)
class IssueStep:
    """One change to apply to the store, and to announce."""

    action: Literal["created", "updated", "deleted"]
    snapshot: IssueSnapshot


def plan_issue_change(
    current: IssueSnapshot | None, change: IssueChange, *, deleted_at: datetime | None = None
) -> list[IssueStep]:
    """What `change` does to an issue stored as `current` (or deleted at
    `deleted_at`): nothing, one step, or a move.

    Deliveries arrive out of order and repeat: an update older than what is
    stored changes nothing, and so does one that changes nothing we carry, or
    one made before the issue was deleted.
    """
    if isinstance(change, IssueDeleted):
        return [] if current is None else [IssueStep("deleted", current)]
    incoming = change.as_kind_of(current)
    if current is None:
        if deleted_at is not None and incoming.payload.updated_at <= deleted_at:
            return []
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


def newly_assigned(current: IssueSnapshot | None, steps: list[IssueStep]) -> IssueSnapshot | None:
    """The issue as it now is, if `steps` give it an assignee it did not have.

    The same person keeps the same identifiers (a renamed Cloud user keeps the
    account id), so only a change of person counts, not of their label; an
    issue moved between incidents and tasks keeps its assignee.
    """
    if not steps or steps[-1].action == "deleted":
        return None
    incoming = steps[-1].snapshot
    if not incoming.assignee_ids:
        return None  # nobody, or nobody we could address
    if current is None:
        return incoming
    if current.assignee_ids:
        return None if current.assignee_ids & incoming.assignee_ids else incoming
    return None if current.payload.assignee == incoming.payload.assignee else incoming
