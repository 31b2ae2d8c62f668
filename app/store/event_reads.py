"""The event log as one caller may read it: the messages the socket would send
it, oldest first, with their positions.

Positions become visible in commit order (see the initial migration), so the
newest visible position is a safe place to resume from: nothing will later
commit below it. A caller who may see none of a stretch of the log still
moves past it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import Text, cast, func, select
from sqlalchemy.ext.asyncio import AsyncConnection

from app.auth.principal import Principal
from app.db.schema import events
from app.events.model import Event
from app.store.visibility import visible_to


@dataclass(frozen=True, slots=True)
class EventPage:
    events: list[Event]
    # Ask for what comes after this next time.
    next_after: int
    newest: int


async def newest_position(conn: AsyncConnection) -> int:
    position = (await conn.execute(select(func.coalesce(func.max(events.c.position), 0)))).scalar_one()
    return int(position)


async def read_visible(
    conn: AsyncConnection, principal: Principal, *, after: int, limit: int, topics: Sequence[str] = ()
) -> EventPage:
    """Up to `limit` events after `after` that `principal` may see (of `topics`, if any)."""
    newest = await newest_position(conn)
    statement = (
        select(
            events.c.position,
            events.c.topic,
            events.c.squad,
            events.c.environment,
            events.c.audience,
            cast(events.c.message, Text),
        )
        .where(
            events.c.position > after,
            events.c.position <= newest,
            visible_to(principal, squad=events.c.squad, environment=events.c.environment, audience=events.c.audience),
        )
        .order_by(events.c.position)
        .limit(limit)
    )
    if topics:
        statement = statement.where(events.c.topic.in_(topics))
    found = [Event.from_row(*row) for row in await conn.execute(statement)]
    full = len(found) == limit
    return EventPage(found, found[-1].position if full else max(after, newest), newest)
