"""Notifications: publishing one (over HTTP or the socket: the same use case) and
marking a reader's inbox read."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncEngine

from app.auth.principal import Principal
from app.clock import utcnow
from app.contract.payloads import NotificationData
from app.domain.notifications import NotificationInput, new_notification
from app.errors import Forbidden, InvalidPayload, NotFound
from app.ingest.transaction import write
from app.store import inbox
from app.store.notifications import audience_of, create_notification


async def publish(
    engine: AsyncEngine, principal: Principal, request: NotificationInput, to: Iterable[str] | None
) -> tuple[NotificationData, datetime]:
    """Store the notification and its message (to everyone allowed, or to `to`); what was
    stored and when. Forbidden without the publisher role; InvalidPayload when no text is left."""
    if not principal.can_publish:
        raise Forbidden("publishing notifications needs the publisher role")
    try:
        notification = new_notification(request)
    except ValueError as exc:
        raise InvalidPayload(str(exc), details=[{"field": "body", "problem": str(exc)}]) from None
    now = utcnow()
    async with write(engine) as conn:
        await create_notification(conn, notification, audience=audience_of(to), sent_by=principal.sub, now=now)
    return notification, now


async def mark_all_read(engine: AsyncEngine, principal: Principal, inbox_size: int) -> int:
    """Every notification of the reader's inbox read, for them alone: how many were unread."""
    async with write(engine) as conn:
        return await inbox.mark_all_read(conn, principal, inbox_size, now=utcnow())


async def mark_read(engine: AsyncEngine, principal: Principal, notification_id: str) -> None:
    """One notification read, for the reader alone; NotFound when it is not in their inbox."""
    async with write(engine) as conn:
        marked = await inbox.mark_read(conn, principal, notification_id, now=utcnow())
    if not marked:
        raise NotFound(f"no notification with id {notification_id[:128]!r}")
