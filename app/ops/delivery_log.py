"""`ops-bridge deliveries`: the raw delivery log, newest first; `--failed` for the
deliveries that did not map (outcome `rejected`) or were refused unread (`refused`:
over their body limit), each with its error."""

from __future__ import annotations

from collections.abc import Callable

import orjson
from sqlalchemy.ext.asyncio import AsyncEngine

from app.clock import iso
from app.store import deliveries
from app.store.deliveries import Delivery, Selection

_MAX_ERROR = 300


async def list_deliveries(
    engine: AsyncEngine, selection: Selection, *, limit: int, as_json: bool, write: Callable[[str], None]
) -> int:
    """Write the selected deliveries, newest first; return how many."""
    async with engine.connect() as conn:
        found = await deliveries.newest(conn, selection, limit=limit)
    for delivery in found:
        write(_json(delivery) if as_json else _line(delivery))
    if not as_json:
        write(
            f"{len(found)} deliver{'y' if len(found) == 1 else 'ies'}"
            + (f" (at most {limit})" if len(found) == limit else "")
        )
    return len(found)


def _line(delivery: Delivery) -> str:
    parts = [f"#{delivery.id}", iso(delivery.received_at), delivery.sender, delivery.outcome]
    if delivery.delivery_key:
        parts.append(f"key={delivery.delivery_key}")
    if delivery.query:
        parts.append("query=" + "&".join(f"{k}={v}" for k, v in sorted(delivery.query.items())))
    if delivery.reprocessed_at is not None:
        parts.append(f"reprocessed={iso(delivery.reprocessed_at)}")
    line = "  ".join(parts)
    return f"{line}\n    {delivery.error[:_MAX_ERROR]}" if delivery.error else line


def _json(delivery: Delivery) -> str:
    return orjson.dumps(
        {
            "id": delivery.id,
            "received_at": iso(delivery.received_at),
            "sender": delivery.sender,
            "outcome": delivery.outcome,
            "delivery_key": delivery.delivery_key,
            "query": delivery.query,
            "error": delivery.error,
            "reprocessed_at": iso(delivery.reprocessed_at) if delivery.reprocessed_at else None,
        }
    ).decode()
