"""The raw delivery log: every authenticated webhook body as received.

Kept (for DELIVERY_RETENTION_DAYS) so deliveries can be run through the mapping
again after it changes, and so a redelivery of the same delivery id is known.
Headers that carry credentials are never kept.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Literal

from sqlalchemy import update
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
