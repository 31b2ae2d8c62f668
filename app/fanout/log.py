"""Reading the event log, the one place it is read: in position order for the
listener and resuming sockets (over a plain psycopg connection, rows straight
into `Event`s), and as one caller may see it for GET /api/events.

Positions become visible in commit order (see the initial migration): once a
reader has seen position N, nothing can later commit at or below N. So a read
of `(after, upto]` with `upto` no newer than what has been seen is complete
for good, and may be kept and handed to other readers; and the newest visible
position is a safe place to resume from. A caller who may see none of a
stretch of the log still moves past it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import Text, cast, select
from sqlalchemy.ext.asyncio import AsyncConnection

from app.auth.principal import Principal
from app.db.driver import PgConnection
from app.db.schema import events
from app.fanout.frames import Event
from app.store.visibility import visible_to

_READ = """
SELECT position, topic, squad, environment, audience, message::text, extract(epoch FROM created_at)::float8
FROM events
WHERE position > %(after)s AND position <= %(upto)s
ORDER BY position
LIMIT %(limit)s
"""

_NEWEST = "SELECT coalesce(max(position), 0) FROM events"

_RECENT = """
SELECT position, topic, squad, environment, audience, message::text, extract(epoch FROM created_at)::float8
FROM events
WHERE position <= %(upto)s
ORDER BY position DESC
LIMIT %(limit)s
"""

_PURGED = "SELECT purged_through FROM event_log_state WHERE id = 1"

# Positions are bigint; "no upper bound" is the largest one.
_NO_BOUND = 2**63 - 1


async def read_after(conn: PgConnection, after: int, *, limit: int, upto: int | None = None) -> list[Event]:
    """Events with `after < position <= upto`, oldest first, at most `limit`."""
    async with conn.cursor() as cursor:
        await cursor.execute(_READ, {"after": after, "upto": _NO_BOUND if upto is None else upto, "limit": limit})
        rows = await cursor.fetchall()
    return [Event.from_row(*row) for row in rows]


async def newest_position(conn: PgConnection) -> int:
    """The newest visible position: every later commit gets a larger one."""
    async with conn.cursor() as cursor:
        await cursor.execute(_NEWEST)
        row = await cursor.fetchone()
    return int(row[0]) if row else 0


async def read_recent(conn: PgConnection, upto: int, *, limit: int) -> tuple[list[Event], int]:
    """The newest `limit` events up to `upto`, oldest first, and the position after
    which they are every event still in the log (events up to it were never
    read, or are purged)."""
    async with conn.cursor() as cursor:
        await cursor.execute(_RECENT, {"upto": upto, "limit": limit})
        rows = await cursor.fetchall()
        # Read after the events: a purge that ran meanwhile moves the floor up, never down.
        await cursor.execute(_PURGED)
        purged_row = await cursor.fetchone()
    recent = [Event.from_row(*row) for row in reversed(rows)]
    if len(recent) == limit:
        return recent, recent[0].position - 1
    purged = int(purged_row[0]) if purged_row else 0
    return recent, min(purged, upto)


@dataclass(frozen=True, slots=True)
class EventPage:
    events: list[Event]
    # Ask for what comes after this next time.
    next_after: int
    newest: int


async def read_visible(
    conn: AsyncConnection, principal: Principal, *, after: int, limit: int, topics: Sequence[str] = ()
) -> EventPage:
    """Up to `limit` events after `after` that `principal` may see (of `topics`, if any)."""
    newest = int((await conn.exec_driver_sql(_NEWEST)).scalar_one())
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
