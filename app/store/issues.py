"""Incidents and tasks: apply a Jira change and append its events, in the
caller's transaction."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Table, delete, insert, text, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.ext.asyncio import AsyncConnection

from app.contract.payloads import IncidentData, TaskData
from app.db.schema import incidents, jira_issue_state, tasks
from app.domain.assignments import assignment_notification
from app.domain.issues import (
    IssueChange,
    IssueDeleted,
    IssueSnapshot,
    IssueStep,
    StoredIssue,
    newly_assigned,
    plan_issue_change,
)
from app.events import outbox
from app.events.model import NewEvent
from app.store.locks import lock_entity
from app.store.notifications import audience_of, create_notification


async def apply_issue_change(conn: AsyncConnection, change: IssueChange, *, now: datetime) -> int:
    """Store `change`; return how many events it produced (maybe none).

    A new assignee also gets a notification, addressed to them alone, in the
    same transaction."""
    jira_issue_id = change.jira_issue_id if isinstance(change, IssueDeleted) else change.snapshot.jira_issue_id
    await lock_entity(conn, f"jira-issue:{jira_issue_id}")
    stored = await load_stored_issue(conn, jira_issue_id)
    steps = plan_issue_change(stored.snapshot, change, deleted_at=stored.deleted_at)
    for step in steps:
        await _write(conn, step)
    await _remember(conn, jira_issue_id, change, steps, now)
    produced = await outbox.append(conn, [_event(step, now) for step in steps])
    assigned = newly_assigned(stored.snapshot, steps)
    if assigned is not None:
        produced += await create_notification(
            conn,
            assignment_notification(assigned),
            audience=audience_of(assigned.assignee_ids),
            sent_by="jira",
            now=now,
        )
    return produced


async def load_issue(conn: AsyncConnection, jira_issue_id: str) -> IssueSnapshot | None:
    """The issue as stored, as an incident or a task."""
    return (await load_stored_issue(conn, jira_issue_id)).snapshot


async def load_stored_issue(conn: AsyncConnection, jira_issue_id: str) -> StoredIssue:
    """The issue as stored, with what is remembered of it: one round trip for all three tables."""
    found = (await conn.execute(_LOAD, {"jira_issue_id": jira_issue_id})).first()
    if found is None:
        return StoredIssue()
    kind, values, assignee_ids, deleted_at = found
    if kind is None:
        return StoredIssue(deleted_at=deleted_at)
    snapshot = _snapshot(incidents if kind == "incident" else tasks, values, frozenset(assignee_ids or ()))
    return StoredIssue(snapshot=snapshot, deleted_at=deleted_at)


_LOAD = text(
    "SELECT e.kind, e.entity, s.assignee_ids, s.deleted_at "
    "FROM (SELECT CAST(:jira_issue_id AS text) AS jira_issue_id) k "
    "LEFT JOIN jira_issue_state s ON s.jira_issue_id = k.jira_issue_id "
    "LEFT JOIN LATERAL ("
    "  SELECT 'incident' AS kind, to_jsonb(i) AS entity FROM incidents i WHERE i.jira_issue_id = k.jira_issue_id"
    "  UNION ALL"
    "  SELECT 'task', to_jsonb(t) FROM tasks t WHERE t.jira_issue_id = k.jira_issue_id"
    ") e ON true"
)


def _table(snapshot: IssueSnapshot) -> Table:
    return incidents if snapshot.kind == "incident" else tasks


async def _write(conn: AsyncConnection, step: IssueStep) -> None:
    table = _table(step.snapshot)
    if step.action == "deleted":
        await conn.execute(delete(table).where(table.c.id == step.snapshot.payload.id))
        return
    values = _row(step.snapshot)
    if step.action == "created":
        await conn.execute(insert(table).values(values))
    else:
        await conn.execute(update(table).where(table.c.id == step.snapshot.payload.id).values(values))


async def _remember(
    conn: AsyncConnection, jira_issue_id: str, change: IssueChange, steps: list[IssueStep], now: datetime
) -> None:
    """Keep the assignee's identifiers of what was stored, or the deletion time.

    A deletion is remembered even for an issue never stored: its creation may
    still arrive, late."""
    if isinstance(change, IssueDeleted):
        values: dict[str, Any] = {"assignee_ids": [], "deleted_at": change.deleted_at or now}
    elif steps:
        values = {"assignee_ids": sorted(steps[-1].snapshot.assignee_ids), "deleted_at": None}
    else:
        return
    statement = pg_insert(jira_issue_state).values(jira_issue_id=jira_issue_id, updated_at=now, **values)
    await conn.execute(
        statement.on_conflict_do_update(index_elements=["jira_issue_id"], set_={**values, "updated_at": now})
    )


def _event(step: IssueStep, now: datetime) -> NewEvent:
    payload = step.snapshot.payload
    return NewEvent(
        topic=step.snapshot.kind,
        action=step.action,
        data=payload.wire(),
        timestamp=now,
        squad=payload.squad,
    )


def _row(snapshot: IssueSnapshot) -> dict[str, Any]:
    payload = snapshot.payload
    values = payload.model_dump(exclude={"jira_id"})
    values["jira_key"] = payload.jira_id
    values["jira_issue_id"] = snapshot.jira_issue_id
    return values


def _snapshot(table: Table, stored: dict[str, Any], assignee_ids: frozenset[str]) -> IssueSnapshot:
    values = dict(stored)
    jira_issue_id = values.pop("jira_issue_id")
    values["jira_id"] = values.pop("jira_key")
    values.pop("recorded_at", None)
    model = IncidentData if table is incidents else TaskData
    return IssueSnapshot(jira_issue_id=jira_issue_id, payload=model.model_validate(values), assignee_ids=assignee_ids)
