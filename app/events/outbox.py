"""Appending to the event log, inside the caller's transaction.

A caller only inserts: the log's trigger gives each event its position as the
transaction commits and rings the listeners' doorbell (see the initial
migration). Events appended in one transaction keep their order.
"""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import insert
from sqlalchemy.ext.asyncio import AsyncConnection

from app.db.schema import events
from app.events.model import NewEvent


async def append(conn: AsyncConnection, new_events: Sequence[NewEvent]) -> int:
    """Insert `new_events` in order; return how many were appended."""
    if not new_events:
        return 0
    rows = [
        {
            "topic": event.topic,
            "action": event.action,
            "squad": event.squad,
            "environment": event.environment,
            "audience": sorted(event.audience) if event.audience is not None else None,
            "message": event.message(),
        }
        for event in new_events
    ]
    await conn.execute(insert(events), rows)
    return len(rows)
