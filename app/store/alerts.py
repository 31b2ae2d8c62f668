"""Alerts: apply what deliveries report and keep each alert's history; every
change with its event, in the caller's transaction.

Built as statements (app/db/driver.py), as the Jira store is, so that an alert
storm costs what a single alert does: `AlertWriter` gives the batch writer
(app/ingest/batch_writer.py) its reads (the alerts' locks, then the alerts, one
statement each) and, once every signal is planned in Python against what was
read, its writes: the alerts that changed as one upsert, those only seen again
as one update, their history and their events as one statement each, whatever
the number of alerts. A group of 5,000 alerts is a handful of statements.

Locks are per alert in principle, but taken on one of `LOCK_BUCKETS` advisory
keys an alert's id hashes to: a transaction holding a lock per alert of a
large group would fill PostgreSQL's shared lock table (`max_locks_per_transaction`
× connections, 6,400 by default). Two deliveries sharing an alert still take
turns on it; two sharing only a bucket take turns needlessly, which costs
little with one writer per process.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from functools import cache
from typing import Any

from psycopg import sql

from app.contract.payloads import AlertData
from app.db.driver import PgConnection, Rows, Statement, rows_json
from app.db.lock_keys import ALERT_NAMESPACE
from app.domain.alerts import AlertBatch, AlertSignal, StoredAlert, plan_alert
from app.errors import InvalidPayload
from app.store import outbox
from app.store.outbox import NewEvent
from app.store.set_writer import Plan, Reads, apply_set

_log = logging.getLogger(__name__)

PAYLOAD_COLUMNS = tuple(AlertData.model_fields)
_ROW_COLUMNS = ("source", "fingerprint", "squad", "annotations", "updated_at", "last_seen_at")

LOCK_BUCKETS = 1024
_LOCK = (
    "SELECT pg_advisory_xact_lock(%s, key) FROM ("
    "SELECT DISTINCT hashtext(id) & %s AS key FROM json_array_elements_text(%s::json) AS ids(id) ORDER BY key"
    ") AS keys"
)
_LOAD = (
    sql.SQL("SELECT {} FROM alerts WHERE id IN (SELECT json_array_elements_text(%s::json))")
    .format(sql.SQL(", ").join(map(sql.Identifier, (*PAYLOAD_COLUMNS, *_ROW_COLUMNS))))
    .as_string()
)
_SEEN = "UPDATE alerts SET last_seen_at = %s WHERE id IN (SELECT json_array_elements_text(%s::json))"
_HISTORY = (
    "INSERT INTO alert_history (alert_id, action, status, data, changed_at) "
    "SELECT alert_id, action, status, data, changed_at FROM json_populate_recordset(NULL::alert_history, %s::json)"
)


@dataclass(frozen=True, slots=True)
class AlertRow:
    """An alert as stored: the payload subscribers see, and what only the service keeps."""

    source: str
    fingerprint: str
    payload: AlertData
    squad: str | None
    annotations: dict[str, str]
    updated_at: datetime
    last_seen_at: datetime

    def domain(self) -> StoredAlert:
        return StoredAlert(source=self.source, payload=self.payload, squad=self.squad, last_seen_at=self.last_seen_at)

    def values(self) -> dict[str, Any]:
        """The row's columns, for json_populate_recordset."""
        return {
            # The payload's fields as they are (what model_dump gives for these flat ones, a tenth of the cost).
            **vars(self.payload),
            "source": self.source,
            "fingerprint": self.fingerprint,
            "squad": self.squad,
            "labels": self.payload.labels or {},
            "annotations": self.annotations,
            "updated_at": self.updated_at,
            "last_seen_at": self.last_seen_at,
        }


def lock_statement(alert_ids: Iterable[str]) -> Statement:
    """The statement locking every alert named (by bucket, in one order): a statement of
    its own, so that whatever reads them runs after it and sees the last holder's commit."""
    return Statement(_LOCK, (ALERT_NAMESPACE, LOCK_BUCKETS - 1, rows_json(sorted(set(alert_ids)))))


def load_statement(alert_ids: Iterable[str]) -> Statement:
    return Statement(_LOAD, (rows_json(sorted(set(alert_ids))),))


def stored_alerts(rows: Rows) -> dict[str, AlertRow]:
    """The rows of `load_statement`, by alert id."""
    found: dict[str, AlertRow] = {}
    payload_count = len(PAYLOAD_COLUMNS)
    for row in rows:
        payload = AlertData.model_validate(dict(zip(PAYLOAD_COLUMNS, row[:payload_count], strict=True)))
        source, fingerprint, squad, annotations, updated_at, last_seen_at = row[payload_count:]
        found[payload.id] = AlertRow(source, fingerprint, payload, squad, annotations or {}, updated_at, last_seen_at)
    return found


class AlertWriter:
    """Alert deliveries as a set, in two steps around the caller's transaction.

    `reads`: lock every alert named and load them. `plan`: decide each signal
    against the state the ones before it left (a group may name an alert twice,
    and so may two deliveries of a batch), and give the statements writing each
    alert's net result, its history and every event in order."""

    def reads(self, batches: Sequence[AlertBatch]) -> Reads:
        ids = {signal.id for batch in batches for signal in batch.signals}
        return Reads(lock_statement(ids), load_statement(ids))

    def plan(self, batches: Sequence[AlertBatch], loaded: Rows, now: datetime) -> Plan:
        """`loaded`: the rows of `reads(...).load` (for these batches or a superset of them)."""
        before = stored_alerts(loaded)
        after = dict(before)
        new_events: list[NewEvent] = []
        produced: list[int] = []
        for batch in batches:
            if batch.truncated:
                _log.warning("a group arrived with %d alerts truncated: those are left as they were", batch.truncated)
            count = len(new_events)
            for signal in batch.signals:
                event = _apply(after, signal, now)
                if event is not None:
                    new_events.append(event)
            produced.append(len(new_events) - count)
        return Plan(
            produced,
            [*_net_writes(before, after, now), *history_statements(new_events), *outbox.append_statements(new_events)],
        )


ALERT_WRITER = AlertWriter()


async def apply_alert_batch(conn: PgConnection, batch: AlertBatch, *, now: datetime) -> int:
    """Store what `batch` reports; return how many events it produced (maybe none).

    Alerts a truncated group left out are not in `batch` and are left alone:
    absence from a notification never resolves anything."""
    return (await apply_alert_batches(conn, [batch], now=now))[0]


async def apply_alert_batches(conn: PgConnection, batches: Sequence[AlertBatch], *, now: datetime) -> list[int]:
    """Store `batches` in order, in the caller's transaction; return how many events each produced."""
    return await apply_set(conn, ALERT_WRITER, batches, now)


def _apply(states: dict[str, AlertRow], signal: AlertSignal, now: datetime) -> NewEvent | None:
    """Plan `signal` against `states` (updated in place); its event, if it changes what subscribers see."""
    alert_id = signal.id
    current = states.get(alert_id)
    if current is not None and current.source != signal.source:
        raise InvalidPayload(f"alert id {alert_id!r} belongs to another sender's alert")
    decision = plan_alert(current.domain() if current else None, signal, now)
    squad = signal.squad or (current.squad if current else None)
    states[alert_id] = AlertRow(
        source=signal.source,
        fingerprint=current.fingerprint if current else signal.fingerprint,
        payload=decision.payload,
        squad=squad,
        annotations=dict(signal.annotations),
        updated_at=now if decision.action is not None or current is None else current.updated_at,
        last_seen_at=now,
    )
    return None if decision.action is None else alert_event(decision.action, decision.payload, squad, now)


def alert_event(action: str, payload: AlertData, squad: str | None, now: datetime) -> NewEvent:
    assert action in ("created", "updated")
    return NewEvent(
        topic="alert",
        action="created" if action == "created" else "updated",
        data=payload.wire(),
        timestamp=now,
        squad=squad,
        environment=payload.environment,
    )


def _net_writes(before: dict[str, AlertRow], after: dict[str, AlertRow], now: datetime) -> list[Statement]:
    """Bring each alert touched from before to after: a full write where anything but
    `last_seen_at` changed, else only that."""
    changed: list[dict[str, Any]] = []
    seen: list[str] = []
    for alert_id, row in after.items():
        old = before.get(alert_id)
        if old is not None and replace(old, last_seen_at=row.last_seen_at) == row:
            seen.append(alert_id)
        elif old is None or old != row:
            changed.append(row.values())
    statements = []
    if changed:
        statements.append(Statement(upsert_sql(tuple(changed[0])), (rows_json(changed),)))
    if seen:
        statements.append(Statement(_SEEN, (now, rows_json(seen))))
    return statements


def history_statements(new_events: Sequence[NewEvent]) -> list[Statement]:
    """One history row per alert event: its action, status and payload as sent, and when."""
    if not new_events:
        return []
    rows = [
        {
            "alert_id": event.data["id"],
            "action": event.action,
            "status": event.data["status"],
            "data": event.data,
            "changed_at": event.timestamp,
        }
        for event in new_events
    ]
    return [Statement(_HISTORY, (rows_json(rows),))]


# Composed once into text: psycopg would compose a sql.Composed again at every execution.
@cache
def upsert_sql(columns: tuple[str, ...]) -> str:
    names = sql.SQL(", ").join(map(sql.Identifier, columns))
    assignments = sql.SQL(", ").join(
        sql.SQL("{} = excluded.{}").format(sql.Identifier(c), sql.Identifier(c)) for c in columns if c != "id"
    )
    return (
        sql.SQL(
            "INSERT INTO alerts ({}) SELECT {} FROM json_populate_recordset(NULL::alerts, %s::json) "
            "ON CONFLICT (id) DO UPDATE SET {}"
        )
        .format(names, names, assignments)
        .as_string()
    )
