"""Reading the event log in position order, over a plain psycopg connection."""

from __future__ import annotations

from typing import Any

from psycopg import AsyncConnection

from app.events.model import Event

_READ = """
SELECT position, topic, squad, environment, audience, message::text, extract(epoch FROM created_at)::float8
FROM events
WHERE position > %(after)s AND position <= %(upto)s
ORDER BY position
LIMIT %(limit)s
"""

_NEWEST = "SELECT coalesce(max(position), 0) FROM events"

# Positions are bigint; "no upper bound" is the largest one.
_NO_BOUND = 2**63 - 1


async def read_after(conn: AsyncConnection[Any], after: int, *, limit: int, upto: int | None = None) -> list[Event]:
    """Events with `after < position <= upto`, oldest first, at most `limit`."""
    async with conn.cursor() as cursor:
        await cursor.execute(_READ, {"after": after, "upto": _NO_BOUND if upto is None else upto, "limit": limit})
        rows = await cursor.fetchall()
    return [Event.from_row(*row) for row in rows]


async def newest_position(conn: AsyncConnection[Any]) -> int:
    """The newest visible position: every later commit gets a larger one."""
    async with conn.cursor() as cursor:
        await cursor.execute(_NEWEST)
        row = await cursor.fetchone()
    return int(row[0]) if row else 0
