"""Incidents and tasks: apply a Jira change and append its events, in the
caller's transaction."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Row, Table, delete, insert, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from app.contract.payloads import IncidentData, TaskData
from app.db.schema import incidents, tasks
from app.domain.issues import IssueChange, IssueDeleted, IssueSnapshot, IssueStep, plan_issue_change
from app.events import outbox
from app.events.model import NewEvent
from app.store.locks import lock_entity


async def apply_issue_change(conn: AsyncConnection, change: IssueChange, *, now: datetime) -> list[int]:
    """Store `change`; return the positions of the events it produced (maybe none)."""
    jira_issue_id = change.jira_issue_id if isinstance(change, IssueDeleted) else change.snapshot.jira_issue_id
    await lock_entity(conn, f"jira-issue:{jira_issue_id}")
    current = await load_issue(conn, jira_issue_id)
    steps = plan_issue_change(current, change)
    for step in steps:
        await _write(conn, step)
    return await outbox.append(conn, [_event(step, now) for step in steps])


async def load_issue(conn: AsyncConnection, jira_issue_id: str) -> IssueSnapshot | None:
    for table in (incidents, tasks):
        row = (await conn.execute(select(table).where(table.c.jira_issue_id == jira_issue_id))).first()
        if row is not None:
            return _snapshot(table, row)
    return None


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


def _snapshot(table: Table, row: Row[Any]) -> IssueSnapshot:
    values = dict(row._mapping)
    jira_issue_id = values.pop("jira_issue_id")
    values["jira_id"] = values.pop("jira_key")
    values.pop("recorded_at", None)
    model = IncidentData if table is incidents else TaskData
    return IssueSnapshot(jira_issue_id=jira_issue_id, payload=model.model_validate(values))
