"""A user's notification inbox: the last notifications they may see, and which of
them they have read.

What a user may see is what the socket would deliver to them (the audience
rule of `Principal.may_see`); read state is kept per `sub`. The inbox is read
through SQLAlchemy, as the API reads; marking it read is a statement on the
driver (app/db/driver.py), one per request, which checks what the reader may
see as it writes.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Row, and_, select
from sqlalchemy.ext.asyncio import AsyncConnection

from app.auth.principal import Principal
from app.db.driver import PgConnection, Statement, run
from app.db.schema import notification_reads, notifications
from app.store.visibility import addressed_to, visible_to

_SHOWN = (
    notifications.c.id,
    notifications.c.title,
    notifications.c.message,
    notifications.c.type,
    notifications.c.priority,
    notifications.c.action_url,
    notifications.c.metadata,
    notifications.c.sent_by,
    notifications.c.created_at,
)


def _visible(principal: Principal) -> Any:
    return visible_to(principal, audience=notifications.c.audience)


def _recent(principal: Principal, size: int) -> Any:
    return (
        select(*_SHOWN)
        .where(_visible(principal))
        .order_by(notifications.c.created_at.desc(), notifications.c.id.desc())
        .limit(size)
        .subquery("recent")
    )


async def inbox(conn: AsyncConnection, principal: Principal, size: int) -> list[Row[Any]]:
    """The `size` newest notifications `principal` may see, unread first, then newest first."""
    recent = _recent(principal, size)
    read = notification_reads
    statement = (
        select(*recent.c, read.c.read_at)
        .select_from(
            recent.outerjoin(read, and_(read.c.notification_id == recent.c.id, read.c.reader == principal.sub))
        )
        .order_by(read.c.read_at.is_(None).desc(), recent.c.created_at.desc(), recent.c.id.desc())
    )
    return list(await conn.execute(statement))


# The notification, if the reader may see it; marked read (again is fine) if so.
_MARK_ONE = """
    WITH target AS (SELECT id FROM notifications WHERE id = %s AND {visible}),
    marked AS (
        INSERT INTO notification_reads (reader, notification_id, read_at)
        SELECT %s, id, %s FROM target ON CONFLICT DO NOTHING
    )
    SELECT count(*) FROM target
"""
# The inbox's notifications (the newest the reader may see), those unread marked read.
_MARK_ALL = """
    WITH marked AS (
        INSERT INTO notification_reads (reader, notification_id, read_at)
        SELECT %s, id, %s FROM (
            SELECT id FROM notifications WHERE {visible} ORDER BY created_at DESC, id DESC LIMIT %s
        ) AS recent
        ON CONFLICT DO NOTHING RETURNING 1
    )
    SELECT count(*) FROM marked
"""


async def mark_read(conn: PgConnection, principal: Principal, notification_id: str, *, now: datetime) -> bool:
    """Mark one notification read (again is fine); False, marking nothing, when it is not
    one `principal` may see."""
    visible = addressed_to(principal)
    sql = _MARK_ONE.format(visible=visible.sql)
    (found,) = await run(conn, [Statement(sql, (notification_id, *visible.params, principal.sub, now))])
    return bool(found[0][0])


async def mark_all_read(conn: PgConnection, principal: Principal, size: int, *, now: datetime) -> int:
    """Mark every notification of the inbox read; return how many were unread."""
    visible = addressed_to(principal)
    sql = _MARK_ALL.format(visible=visible.sql)
    (marked,) = await run(conn, [Statement(sql, (principal.sub, now, *visible.params, size))])
    return int(marked[0][0])
