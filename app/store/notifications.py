"""Notifications: stored, and announced to everyone allowed or to the users named."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from sqlalchemy import insert
from sqlalchemy.ext.asyncio import AsyncConnection

from app.contract.payloads import NotificationData
from app.db.schema import notifications
from app.events import outbox
from app.events.model import NewEvent


def audience_of(recipients: Iterable[str] | None) -> frozenset[str] | None:
    """Addressees as the hub matches them: `sub`s as given, e-mail addresses lower-cased."""
    if recipients is None:
        return None
    return frozenset(r.strip().lower() if "@" in r else r.strip() for r in recipients if r.strip())


async def create_notification(
    conn: AsyncConnection,
    notification: NotificationData,
    *,
    audience: frozenset[str] | None,
    sent_by: str,
    now: datetime,
) -> int:
    """Store `notification` and append its `notification` / `created` event."""
    await conn.execute(
        insert(notifications).values(
            id=notification.id,
            title=notification.title,
            message=notification.message,
            type=notification.type,
            priority=notification.priority,
            action_url=notification.action_url,
            metadata=notification.metadata,
            audience=sorted(audience) if audience is not None else None,
            sent_by=sent_by,
            created_at=now,
        )
    )
    event = NewEvent(topic="notification", action="created", data=notification.wire(), timestamp=now, audience=audience)
    return await outbox.append(conn, [event])
