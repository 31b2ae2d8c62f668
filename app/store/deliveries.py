"""The raw delivery log: every authenticated webhook body as received.

Kept (for DELIVERY_RETENTION_DAYS) so deliveries can be run through the mapping
again after it changes, and so a redelivery of the same delivery id is known.
Headers that carry credentials are never kept.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Literal

from sqlalchemy import insert, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.ext.asyncio import AsyncConnection

from app.db.schema import webhook_deliveries

Outcome = Literal["applied", "unchanged", "ignored", "rejected"]

_SECRET_HINTS = ("authorization", "cookie", "signature", "token", "secret", "password", "api-key", "apikey")
_MAX_HEADER_VALUE = 512


def keepable_headers(headers: Mapping[str, str]) -> dict[str, str]:
    """The request headers worth keeping, without anything that authenticates."""
    return {
        name.lower(): value[:_MAX_HEADER_VALUE]
        for name, value in headers.items()
        if not any(hint in name.lower() for hint in _SECRET_HINTS)
    }


async def record_new(
    conn: AsyncConnection,
    *,
    sender: str,
    delivery_key: str | None,
    headers: dict[str, str],
    body: bytes,
    outcome: Outcome,
    error: str | None = None,
) -> int | None:
    """Record a delivery; None if the sender already delivered this key (a redelivery).

    A concurrent duplicate waits on the unique key until the first commits,
    then finds it: exactly one of them is applied."""
    statement = (
        pg_insert(webhook_deliveries)
        .values(sender=sender, delivery_key=delivery_key, headers=headers, body=body, outcome=outcome, error=error)
        .on_conflict_do_nothing(constraint="uq_webhook_deliveries_sender_key")
        .returning(webhook_deliveries.c.id)
    )
    delivery_id: int | None = (await conn.execute(statement)).scalar()
    return delivery_id


async def set_outcome(conn: AsyncConnection, delivery_id: int, outcome: Outcome, error: str | None = None) -> None:
    await conn.execute(
        update(webhook_deliveries).where(webhook_deliveries.c.id == delivery_id).values(outcome=outcome, error=error)
    )


@dataclass(frozen=True, slots=True)
class Received:
    """One delivery as received, before it is known whether it changes anything."""

    delivery_key: str | None
    headers: dict[str, str]
    body: bytes


async def claim_keys(conn: AsyncConnection, sender: str, received: Sequence[Received]) -> set[str]:
    """Record the keyed deliveries among `received` as applied; return the keys that are new.

    A key already recorded (or repeated earlier in `received`) is a
    redelivery: it is not recorded again and must not be applied. A concurrent
    transaction holding the same key makes this wait until it ends."""
    rows, seen = [], set()
    for item in received:
        if item.delivery_key is not None and item.delivery_key not in seen:
            seen.add(item.delivery_key)
            rows.append(_row(sender, item, "applied"))
    if not rows:
        return set()
    statement = (
        pg_insert(webhook_deliveries)
        .on_conflict_do_nothing(constraint="uq_webhook_deliveries_sender_key")
        .returning(webhook_deliveries.c.delivery_key)
    )
    return set((await conn.execute(statement, rows)).scalars())


async def record_outcomes(
    conn: AsyncConnection, sender: str, unkeyed: Sequence[tuple[Received, Outcome]], unchanged_keys: Sequence[str]
) -> None:
    """Record the unkeyed deliveries with their outcomes, and mark claimed keys that changed nothing."""
    if unkeyed:
        await conn.execute(insert(webhook_deliveries), [_row(sender, item, outcome) for item, outcome in unkeyed])
    if unchanged_keys:
        await conn.execute(
            update(webhook_deliveries)
            .where(webhook_deliveries.c.sender == sender, webhook_deliveries.c.delivery_key.in_(unchanged_keys))
            .values(outcome="unchanged")
        )


def _row(sender: str, item: Received, outcome: Outcome) -> dict[str, object]:
    return {
        "sender": sender,
        "delivery_key": item.delivery_key,
        "headers": item.headers,
        "body": item.body,
        "outcome": outcome,
    }
