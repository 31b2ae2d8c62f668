"""Webhook deliveries: what is recorded and applied, in which transaction.

The HTTP side (reading, authenticating, budgets, answers) is
app/api/webhook_path.py; it calls one of these once it knows what a delivery is.
Every delivery leaves a row in the delivery log (`ops-bridge deliveries`):
applied, unchanged, ignored, rejected (with why, for reprocessing after a
mapping fix) or refused (too large; no body kept).
"""

from __future__ import annotations

import contextlib
from collections.abc import Awaitable, Callable

from sqlalchemy.ext.asyncio import AsyncEngine

from app.db.driver import PgConnection
from app.errors import StoreUnavailable
from app.ingest.transaction import write
from app.outbound.queue import OutboundCall, OutboundCalls
from app.store import deliveries
from app.store.deliveries import Outcome, Received

Apply = Callable[[PgConnection], Awaitable[int]]


async def record(
    engine: AsyncEngine, sender: str, received: Received, outcome: Outcome, error: str | None = None
) -> None:
    """A delivery that changes nothing but the log: ignored, rejected or refused."""
    async with write(engine) as conn:
        await deliveries.record_one(conn, sender, received, outcome, error)


async def record_refused(engine: AsyncEngine, sender: str, received: Received, error: str) -> None:
    """A delivery refused before it was read (too large). Best effort: the refusal is
    answered whether or not the row can be written, and counted and logged either way."""
    # An unavailable database was logged where it was raised; the refusal itself is logged and counted anyway.
    with contextlib.suppress(StoreUnavailable):
        await record(engine, sender, received, "refused", error)


async def apply_one(engine: AsyncEngine, sender: str, received: Received, apply: Apply) -> int | None:
    """Record the delivery and apply its change in one transaction: how many events it
    produced, or None for a redelivery (which changes nothing)."""
    async with write(engine) as conn:
        delivery_id = await deliveries.record_one(conn, sender, received, "applied")
        if delivery_id is None:
            return None
        produced = await apply(conn)
        if not produced:
            await deliveries.set_outcome(conn, delivery_id, "unchanged")
    return produced


async def record_then_call(
    engine: AsyncEngine, outbound: OutboundCalls, sender: str, received: Received, call: OutboundCall
) -> bool:
    """Record the delivery and commit; only then queue its outbound call, so that nothing awaits
    the network while holding a connection. False for a redelivery; RateLimited when the queue is full."""
    with outbound.reserve() as slot:
        async with write(engine) as conn:
            delivery_id = await deliveries.record_one(conn, sender, received, "applied")
        if delivery_id is None:
            return False

        async def mark_failed(reason: str) -> None:
            # `ops-bridge deliveries --failed` then lists it, with why.
            async with write(engine) as conn:
                failed = f"{call.what} failed: {reason}"
                await deliveries.set_outcome(conn, delivery_id, "rejected", error=failed)

        slot.submit(OutboundCall(call.what, call.run, failed=mark_failed))
    return True
