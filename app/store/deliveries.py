"""The raw delivery log: every authenticated webhook body as received.

Kept (for DELIVERY_RETENTION_DAYS) so deliveries can be run through the mapping
again after it changes, and so a redelivery of the same delivery id is known.
Headers and query parameters that carry credentials are never kept
(app/auth/redaction.py decides which).

Its writes (and the reads that lock inside a write: reprocessing's) are
statements on the driver (app/db/driver.py); listing and paging for the
commands read through SQLAlchemy.
"""

from __future__ import annotations

import binascii
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal, get_args

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncConnection

from app.db.driver import PgConnection, Rows, Statement, rows_json, run
from app.db.schema import webhook_deliveries

# `refused`: answered 413 unread (app/api/refusals.py); kept without its body.
Outcome = Literal["applied", "unchanged", "ignored", "rejected", "refused"]
OUTCOMES: tuple[str, ...] = get_args(Outcome)


@dataclass(frozen=True, slots=True)
class Received:
    """One delivery as received, before it is known whether it changes anything."""

    delivery_key: str | None
    headers: dict[str, str]
    body: bytes
    # The URL's query, without credentials (alert senders take defaults from it).
    query: dict[str, str] = field(default_factory=dict)


def claim_statement(sender: str, received: Sequence[Received]) -> Statement | None:
    """The statement recording the keyed deliveries among `received` as applied and
    returning the keys that are new (None if none is keyed; `claimed` reads its rows).

    A key already recorded (or repeated earlier in `received`) is a
    redelivery: it is not recorded again and must not be applied. A concurrent
    transaction holding the same key makes this wait until it ends."""
    keyed: dict[str, Received] = {}
    for item in received:
        if item.delivery_key is not None:
            keyed.setdefault(item.delivery_key, item)
    if not keyed:
        return None
    return Statement(_CLAIM, (sender, _rows(keyed.values(), "applied")))


def claimed(rows: Rows) -> set[str]:
    """The new keys, from the rows of the claim statement."""
    return {key for (key,) in rows}


def outcome_statements(
    sender: str, unkeyed: Sequence[tuple[Received, Outcome]], unchanged_keys: Sequence[str]
) -> list[Statement]:
    """Record the unkeyed deliveries with their outcomes, and mark claimed keys that changed nothing."""
    statements = []
    if unkeyed:
        statements.append(Statement(_RECORD, (sender, _rows_with_outcomes(unkeyed))))
    if unchanged_keys:
        statements.append(Statement(_UNCHANGED, (sender, rows_json(list(unchanged_keys)))))
    return statements


async def record_one(
    conn: PgConnection, sender: str, received: Received, outcome: Outcome, error: str | None = None
) -> int | None:
    """Record one delivery (the path of senders without a batch writer, and of deliveries that
    change nothing but the log); its id, or None if the sender already delivered this key (a
    redelivery). A concurrent duplicate waits on the unique key until the first commits, then
    finds it: exactly one of them is applied."""
    row = {**_row(received, outcome), "error": error}
    [returned] = await run(conn, [Statement(_RECORD_ONE, (sender, rows_json([row])))])
    return int(returned[0][0]) if returned else None


async def set_outcome(conn: PgConnection, delivery_id: int, outcome: Outcome, error: str | None = None) -> None:
    await run(conn, [Statement(_SET_OUTCOME, (outcome, error, delivery_id))])


# One statement for a whole batch, whatever its size. Bodies travel in base64:
# they are bytes, and JSON carries text.
_FROM_ROWS = (
    "FROM json_to_recordset(%s::json) "
    "AS r(delivery_key text, headers jsonb, body text, query jsonb, outcome text, error text)"
)
_CLAIM = (
    "INSERT INTO webhook_deliveries (sender, delivery_key, headers, body, query, outcome) "
    "SELECT %s, delivery_key, headers, decode(body, 'base64'), query, outcome "
    f"{_FROM_ROWS} "
    "ON CONFLICT ON CONSTRAINT uq_webhook_deliveries_sender_key DO NOTHING RETURNING delivery_key"
)
_RECORD = (
    "INSERT INTO webhook_deliveries (sender, delivery_key, headers, body, query, outcome) "
    f"SELECT %s, delivery_key, headers, decode(body, 'base64'), query, outcome {_FROM_ROWS}"
)
_RECORD_ONE = (
    "INSERT INTO webhook_deliveries (sender, delivery_key, headers, body, query, outcome, error) "
    "SELECT %s, delivery_key, headers, decode(body, 'base64'), query, outcome, error "
    f"{_FROM_ROWS} "
    "ON CONFLICT ON CONSTRAINT uq_webhook_deliveries_sender_key DO NOTHING RETURNING id"
)
_SET_OUTCOME = "UPDATE webhook_deliveries SET outcome = %s, error = %s WHERE id = %s"
_UNCHANGED = (
    "UPDATE webhook_deliveries SET outcome = 'unchanged' "
    "WHERE sender = %s AND delivery_key IN (SELECT json_array_elements_text(%s::json))"
)


def _rows(items: Iterable[Received], outcome: Outcome) -> str:
    return _rows_with_outcomes([(item, outcome) for item in items])


def _rows_with_outcomes(items: Iterable[tuple[Received, Outcome]]) -> str:
    return rows_json([_row(item, outcome) for item, outcome in items])


def _row(item: Received, outcome: Outcome) -> dict[str, Any]:
    return {
        "delivery_key": item.delivery_key,
        "headers": item.headers,
        "body": binascii.b2a_base64(item.body, newline=False).decode("ascii"),
        "query": item.query,
        "outcome": outcome,
    }


@dataclass(frozen=True, slots=True)
class Delivery:
    id: int
    sender: str
    delivery_key: str | None
    received_at: datetime
    outcome: str
    error: str | None
    query: dict[str, str]
    body: bytes = b""
    reprocessed_at: datetime | None = None


@dataclass(frozen=True, slots=True)
class Selection:
    """Which deliveries an operator means: received since (and before) a time, by sender and outcome."""

    since: datetime
    until: datetime | None = None
    senders: Sequence[str] = ()
    outcomes: Sequence[str] = ()

    def where(self) -> list[Any]:
        c = webhook_deliveries.c
        conditions: list[Any] = [c.received_at >= self.since]
        if self.until is not None:
            conditions.append(c.received_at < self.until)
        if self.senders:
            conditions.append(c.sender.in_(list(self.senders)))
        if self.outcomes:
            conditions.append(c.outcome.in_(list(self.outcomes)))
        return conditions


_SUMMARY = (
    webhook_deliveries.c.id,
    webhook_deliveries.c.sender,
    webhook_deliveries.c.delivery_key,
    webhook_deliveries.c.received_at,
    webhook_deliveries.c.outcome,
    webhook_deliveries.c.error,
    webhook_deliveries.c.query,
)


async def ids_after(conn: AsyncConnection, selection: Selection, after: int, *, upto: int, limit: int) -> list[int]:
    """Ids in (after, upto] of the selected deliveries, oldest first."""
    statement = (
        select(webhook_deliveries.c.id)
        .where(webhook_deliveries.c.id > after, webhook_deliveries.c.id <= upto, *selection.where())
        .order_by(webhook_deliveries.c.id)
        .limit(limit)
    )
    return list((await conn.execute(statement)).scalars())


_LOCK_ONE = (
    "SELECT id, sender, delivery_key, received_at, outcome, error, query, body, reprocessed_at "
    "FROM webhook_deliveries WHERE id = %s FOR UPDATE"
)
_REPROCESSED = "UPDATE webhook_deliveries SET outcome = %s, error = %s, reprocessed_at = %s WHERE id = %s"


async def lock_delivery(conn: PgConnection, delivery_id: int) -> Delivery | None:
    """The delivery with its body, locked until the caller's transaction ends
    (two reprocessing runs take turns on each delivery)."""
    (rows,) = await run(conn, [Statement(_LOCK_ONE, (delivery_id,))])
    if not rows:
        return None
    delivery_id, sender, delivery_key, received_at, outcome, error, query, body, reprocessed_at = rows[0]
    return Delivery(delivery_id, sender, delivery_key, received_at, outcome, error, query, bytes(body), reprocessed_at)


async def record_reprocessed(
    conn: PgConnection, delivery_id: int, outcome: Outcome, error: str | None, at: datetime
) -> None:
    await run(conn, [Statement(_REPROCESSED, (outcome, error, at, delivery_id))])


async def newest(conn: AsyncConnection, selection: Selection, *, limit: int) -> list[Delivery]:
    """The selected deliveries, newest first, without their bodies."""
    statement = (
        select(*_SUMMARY, webhook_deliveries.c.reprocessed_at)
        .where(*selection.where())
        .order_by(webhook_deliveries.c.received_at.desc(), webhook_deliveries.c.id.desc())
        .limit(limit)
    )
    return [Delivery(**row) for row in (await conn.execute(statement)).mappings()]


_PURGE = """
    WITH gone AS (
        DELETE FROM webhook_deliveries
        WHERE id IN (SELECT id FROM webhook_deliveries WHERE received_at < %s ORDER BY received_at LIMIT %s)
        RETURNING 1
    )
    SELECT count(*) FROM gone
"""


async def purge_before(conn: PgConnection, cutoff: datetime, *, batch: int) -> int:
    """Delete up to `batch` of the oldest deliveries received before `cutoff`; return how many."""
    (counted,) = await run(conn, [Statement(_PURGE, (cutoff, batch))])
    return int(counted[0][0])
