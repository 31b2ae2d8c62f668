"""Notifications: stored, and announced to everyone allowed or to the users named."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime

from app.contract.payloads import NotificationData
from app.db.driver import PgConnection, Statement, rows_json, run
from app.store import outbox
from app.store.outbox import NewEvent


def audience_of(recipients: Iterable[str] | None) -> frozenset[str] | None:
    """Addressees as the hub matches them: `sub`s as given, e-mail addresses lower-cased."""
    if recipients is None:
        return None
    return frozenset(r.strip().lower() if "@" in r else r.strip() for r in recipients if r.strip())


@dataclass(frozen=True, slots=True)
class Outgoing:
    """A notification to store, and whom it is for."""

    notification: NotificationData
    audience: frozenset[str] | None
    sent_by: str
    at: datetime

    def event(self) -> NewEvent:
        return NewEvent(
            topic="notification",
            action="created",
            data=self.notification.wire(),
            timestamp=self.at,
            audience=self.audience,
        )


def store_statements(outgoing: Sequence[Outgoing]) -> list[Statement]:
    """The statement storing `outgoing` (one for all; none for none); their events
    are the caller's to append."""
    if not outgoing:
        return []
    rows = [
        {
            "id": item.notification.id,
            "title": item.notification.title,
            "message": item.notification.message,
            "type": item.notification.type,
            "priority": item.notification.priority,
            "action_url": item.notification.action_url,
            "metadata": item.notification.metadata,
            "audience": sorted(item.audience) if item.audience is not None else None,
            "sent_by": item.sent_by,
            "created_at": item.at,
        }
        for item in outgoing
    ]
    return [Statement(_INSERT, (rows_json(rows),))]


_INSERT = (
    "INSERT INTO notifications "
    "(id, title, message, type, priority, action_url, metadata, audience, sent_by, created_at) "
    "SELECT id, title, message, type, priority, action_url, metadata, audience, sent_by, created_at "
    "FROM json_populate_recordset(NULL::notifications, %s::json)"
)


async def create_notification(
    conn: PgConnection,
    notification: NotificationData,
    *,
    audience: frozenset[str] | None,
    sent_by: str,
    now: datetime,
) -> int:
    """Store `notification` and append its `notification` / `created` event, in one message."""
    item = Outgoing(notification, audience, sent_by, now)
    await run(conn, [*store_statements([item]), *outbox.append_statements([item.event()])])
    return 1
