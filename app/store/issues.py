"""Incidents and tasks: apply a Jira change and append its events, in the
caller's transaction.

Built as statements (app/db/driver.py): the batch writer sends the reads with
BEGIN and the writes with COMMIT, a message each."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from functools import cache
from typing import Any

from psycopg import sql

from app.contract.payloads import IncidentData, TaskData
from app.db.driver import PgConnection, Rows, Statement, rows_json
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
from app.store import outbox
from app.store.locks import lock_statement
from app.store.notifications import Outgoing, audience_of, store_statements
from app.store.outbox import NewEvent
from app.store.set_writer import Plan, Reads, apply_set


async def apply_issue_change(conn: PgConnection, change: IssueChange, *, now: datetime) -> int:
    """Store `change`; return how many events it produced (maybe none)."""
    return (await apply_issue_changes(conn, [change], now=now))[0]


async def apply_issue_changes(conn: PgConnection, changes: Sequence[IssueChange], *, now: datetime) -> list[int]:
    """Store `changes` in order, in the caller's transaction; return how many events each produced."""
    return await apply_set(conn, ISSUE_WRITER, changes, now)


class IssueWriter:
    """Jira changes as a set, in two steps around the caller's transaction.

    `reads`: lock every issue named (in one order) and load them, one statement
    each. `plan`: decide each change against the state the ones before it
    left, and give the statements that write each issue's net result, what is
    remembered of it, the notifications and every event in order. A batch
    costs the same few statements as one change. A new assignee gets a
    notification, addressed to them alone, in the same transaction.
    """

    def reads(self, changes: Sequence[IssueChange]) -> Reads:
        ids = sorted({_issue_id(change) for change in changes})
        return Reads(lock_statement([f"jira-issue:{jira_issue_id}" for jira_issue_id in ids]), _load_statement(ids))

    def plan(self, changes: Sequence[IssueChange], loaded: Rows, now: datetime) -> Plan:
        """`loaded`: the rows of `reads(...).load` (for these changes or a superset of them)."""
        states = _stored_issues(loaded)
        before = dict(states)
        touched: set[str] = set()
        new_events: list[NewEvent] = []
        outgoing: list[Outgoing] = []
        produced: list[int] = []
        for change in changes:
            jira_issue_id = _issue_id(change)
            state = states.get(jira_issue_id, StoredIssue())
            before.setdefault(jira_issue_id, state)
            steps = plan_issue_change(state.snapshot, change, deleted_at=state.deleted_at)
            events = [_event(step, now) for step in steps]
            assigned = newly_assigned(state.snapshot, steps)
            if assigned is not None:
                notice = Outgoing(assignment_notification(assigned), audience_of(assigned.assignee_ids), "jira", now)
                outgoing.append(notice)
                events.append(notice.event())
            if steps or isinstance(change, IssueDeleted):
                touched.add(jira_issue_id)
                states[jira_issue_id] = _after(change, steps, now)
            new_events.extend(events)
            produced.append(len(events))
        writes = _net_writes([(i, before[i], states[i]) for i in sorted(touched)], now)
        return Plan(produced, [*writes, *store_statements(outgoing), *outbox.append_statements(new_events)])


ISSUE_WRITER = IssueWriter()


def _issue_id(change: IssueChange) -> str:
    return change.jira_issue_id if isinstance(change, IssueDeleted) else change.snapshot.jira_issue_id


def _after(change: IssueChange, steps: list[IssueStep], now: datetime) -> StoredIssue:
    """What is stored of an issue once `change` (with these steps) is applied.

    A deletion is remembered even for an issue never stored: its creation may
    still arrive, late."""
    if isinstance(change, IssueDeleted):
        return StoredIssue(snapshot=None, deleted_at=change.deleted_at or now)
    return StoredIssue(snapshot=steps[-1].snapshot, deleted_at=None)


def _load_statement(jira_issue_ids: Sequence[str]) -> Statement:
    """The issues as stored, with what is remembered of them: one query for all three tables."""
    return Statement(_LOAD, (rows_json(list(jira_issue_ids)),))


def _stored_issues(rows: Rows) -> dict[str, StoredIssue]:
    found: dict[str, StoredIssue] = {}
    for jira_issue_id, kind, values, assignee_ids, deleted_at in rows:
        snapshot = None
        if kind is not None:
            snapshot = _snapshot(kind, values, frozenset(assignee_ids or ()))
        found[jira_issue_id] = StoredIssue(snapshot=snapshot, deleted_at=deleted_at)
    return found


_LOAD = (
    "SELECT k.jira_issue_id, e.kind, e.entity, s.assignee_ids, s.deleted_at "
    "FROM json_array_elements_text(%s::json) AS k(jira_issue_id) "
    "LEFT JOIN jira_issue_state s ON s.jira_issue_id = k.jira_issue_id "
    "LEFT JOIN LATERAL ("
    "  SELECT 'incident' AS kind, to_jsonb(i) AS entity FROM incidents i WHERE i.jira_issue_id = k.jira_issue_id"
    "  UNION ALL"
    "  SELECT 'task', to_jsonb(t) FROM tasks t WHERE t.jira_issue_id = k.jira_issue_id"
    ") e ON true"
)


def _net_writes(changed: list[tuple[str, StoredIssue, StoredIssue]], now: datetime) -> list[Statement]:
    """Bring each issue's rows from before to after, one statement per table and operation."""
    deletes: dict[str, list[str]] = {"incident": [], "task": []}
    inserts: dict[str, list[dict[str, Any]]] = {"incident": [], "task": []}
    updates: dict[str, list[dict[str, Any]]] = {"incident": [], "task": []}
    for _, old, new in changed:
        was, now_is = old.snapshot, new.snapshot
        if was is not None and (now_is is None or now_is.kind != was.kind):
            deletes[was.kind].append(was.payload.id)
        if now_is is not None and (was is None or now_is.kind != was.kind):
            inserts[now_is.kind].append(_row(now_is))
        elif now_is is not None and was is not None and now_is.payload != was.payload:
            updates[now_is.kind].append(_row(now_is))
    statements = []
    for kind in ("incident", "task"):
        if deletes[kind]:
            statements.append(Statement(_delete(kind), (rows_json(deletes[kind]),)))
        if inserts[kind]:
            statements.append(Statement(_insert(kind, tuple(inserts[kind][0])), (rows_json(inserts[kind]),)))
        if updates[kind]:
            statements.append(Statement(_update(kind, tuple(updates[kind][0])), (rows_json(updates[kind]),)))
    return statements + _remember([(jira_issue_id, new) for jira_issue_id, _, new in changed], now)


_TABLES = {"incident": "incidents", "task": "tasks"}


# Composed once into text: psycopg would compose a sql.Composed again at every execution.
@cache
def _delete(kind: str) -> str:
    return (
        sql.SQL("DELETE FROM {} WHERE id IN (SELECT json_array_elements_text(%s::json))")
        .format(sql.Identifier(_TABLES[kind]))
        .as_string()
    )


@cache
def _insert(kind: str, columns: tuple[str, ...]) -> str:
    names = sql.SQL(", ").join(map(sql.Identifier, columns))
    table = sql.Identifier(_TABLES[kind])
    return (
        sql.SQL("INSERT INTO {} ({}) SELECT {} FROM json_populate_recordset(NULL::{}, %s::json)")
        .format(table, names, names, table)
        .as_string()
    )


@cache
def _update(kind: str, columns: tuple[str, ...]) -> str:
    table = sql.Identifier(_TABLES[kind])
    assignments = sql.SQL(", ").join(
        sql.SQL("{} = r.{}").format(sql.Identifier(c), sql.Identifier(c)) for c in columns if c != "id"
    )
    return (
        sql.SQL("UPDATE {} AS t SET {} FROM json_populate_recordset(NULL::{}, %s::json) AS r WHERE t.id = r.id")
        .format(table, assignments, table)
        .as_string()
    )


def _remember(states: list[tuple[str, StoredIssue]], now: datetime) -> list[Statement]:
    """Keep each issue's assignee identifiers, or its deletion time."""
    if not states:
        return []
    rows = [
        {
            "jira_issue_id": jira_issue_id,
            "assignee_ids": sorted(state.snapshot.assignee_ids) if state.snapshot else [],
            "deleted_at": state.deleted_at,
            "updated_at": now,
        }
        for jira_issue_id, state in states
    ]
    return [Statement(_REMEMBER, (rows_json(rows),))]


_REMEMBER = (
    "INSERT INTO jira_issue_state (jira_issue_id, assignee_ids, deleted_at, updated_at) "
    "SELECT jira_issue_id, assignee_ids, deleted_at, updated_at "
    "FROM json_populate_recordset(NULL::jira_issue_state, %s::json) "
    "ON CONFLICT (jira_issue_id) DO UPDATE SET "
    "assignee_ids = excluded.assignee_ids, deleted_at = excluded.deleted_at, updated_at = excluded.updated_at"
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


def _snapshot(kind: str, stored: dict[str, Any], assignee_ids: frozenset[str]) -> IssueSnapshot:
    values = dict(stored)
    jira_issue_id = values.pop("jira_issue_id")
    values["jira_id"] = values.pop("jira_key")
    values.pop("recorded_at", None)
    model = IncidentData if kind == "incident" else TaskData
    return IssueSnapshot(jira_issue_id=jira_issue_id, payload=model.model_validate(values), assignee_ids=assignee_ids)
