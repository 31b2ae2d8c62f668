"""Appending to the event log, inside the caller's transaction.

The log's triggers assign each event its position (under the event-log lock)
and queue the NOTIFY, so a caller only inserts. Append last in a transaction:
the lock is then held for no more than the commit.
"""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import insert
from sqlalchemy.ext.asyncio import AsyncConnection

from app.db.schema import events
from app.events.model import NewEvent


async def append(conn: AsyncConnection, new_events: Sequence[NewEvent]) -> list[int]:
    """Insert `new_events` in order; return their positions."""
    if not new_events:
        return []
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
    result = await conn.execute(insert(events).returning(events.c.position), rows)
    return sorted(result.scalars().all())
