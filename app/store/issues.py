"""Incidents and tasks: apply a Jira change and append its events, in the
caller's transaction."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Table, delete, insert, text, update
from sqlalchemy.ext.asyncio import AsyncConnection

from app.contract.payloads import IncidentData, TaskData
from app.db.schema import incidents, tasks
from app.domain.issues import IssueChange, IssueDeleted, IssueSnapshot, IssueStep, plan_issue_change
from app.events import outbox
from app.events.model import NewEvent
from app.store.locks import lock_entity


async def apply_issue_change(conn: AsyncConnection, change: IssueChange, *, now: datetime) -> int:
    """Store `change`; return how many events it produced (maybe none)."""
    jira_issue_id = change.jira_issue_id if isinstance(change, IssueDeleted) else change.snapshot.jira_issue_id
    await lock_entity(conn, f"jira-issue:{jira_issue_id}")
    current = await load_issue(conn, jira_issue_id)
    steps = plan_issue_change(current, change)
    for step in steps:
        await _write(conn, step)
    return await outbox.append(conn, [_event(step, now) for step in steps])


async def load_issue(conn: AsyncConnection, jira_issue_id: str) -> IssueSnapshot | None:
    """The issue as stored, as an incident or a task: one round trip for both tables."""
    found = (await conn.execute(_LOAD, {"jira_issue_id": jira_issue_id})).first()
    if found is None:
        return None
    kind, values = found
    return _snapshot(incidents if kind == "incident" else tasks, values)


_LOAD = text(
    "SELECT 'incident', to_jsonb(i) FROM incidents i WHERE i.jira_issue_id = :jira_issue_id "
    "UNION ALL SELECT 'task', to_jsonb(t) FROM tasks t WHERE t.jira_issue_id = :jira_issue_id"
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


def _snapshot(table: Table, stored: dict[str, Any]) -> IssueSnapshot:
    values = dict(stored)
    jira_issue_id = values.pop("jira_issue_id")
    values["jira_id"] = values.pop("jira_key")
    values.pop("recorded_at", None)
    model = IncidentData if table is incidents else TaskData
    return IssueSnapshot(jira_issue_id=jira_issue_id, payload=model.model_validate(values))
