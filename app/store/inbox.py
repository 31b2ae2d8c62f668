"""A user's notification inbox: the last notifications they may see, and which of
them they have read.

What a user may see is what the socket would deliver to them (the audience
rule of `Principal.may_see`); read state is kept per `sub`.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Row, and_, literal, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.ext.asyncio import AsyncConnection

from app.auth.principal import Principal
from app.db.schema import notification_reads, notifications
from app.store.visibility import visible_to

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


async def is_visible(conn: AsyncConnection, principal: Principal, notification_id: str) -> bool:
    statement = select(notifications.c.id).where(notifications.c.id == notification_id, _visible(principal))
    return (await conn.execute(statement)).first() is not None


async def mark_read(conn: AsyncConnection, principal: Principal, notification_id: str, *, now: datetime) -> None:
    """Mark one notification read (again is fine); the caller checked it may see it."""
    await conn.execute(
        pg_insert(notification_reads)
        .values(reader=principal.sub, notification_id=notification_id, read_at=now)
        .on_conflict_do_nothing()
    )


async def mark_all_read(conn: AsyncConnection, principal: Principal, size: int, *, now: datetime) -> int:
    """Mark every notification of the inbox read; return how many were unread."""
    recent = _recent(principal, size)
    statement = (
        pg_insert(notification_reads)
        .from_select(
            ["reader", "notification_id", "read_at"],
            select(literal(principal.sub), recent.c.id, literal(now, notification_reads.c.read_at.type)),
        )
        .on_conflict_do_nothing()
        .returning(notification_reads.c.notification_id)
    )
    return len((await conn.execute(statement)).all())
