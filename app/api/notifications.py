"""/api/notifications: publish one (to everyone allowed or to named users), read
your inbox (the last 50 you may see, unread first), mark them read.

A notification posted here is the one a publisher may send over the socket:
the same input model and the same use case (app/ingest/notifications.py), so
both reach subscribers and inboxes alike.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request, Response
from pydantic import BaseModel, ConfigDict, Field

from app.api import responses
from app.api.auth import Authenticated, Publisher
from app.api.list_queries import RowId
from app.api.routing import JsonApiRoute
from app.contract.payloads import NotificationData, Timestamp
from app.domain.notifications import NotificationInput, Recipients
from app.ingest import notifications
from app.runtime import runtime_of
from app.store import inbox as store

router = APIRouter(route_class=JsonApiRoute, tags=["notifications"])

INBOX_SIZE = 50


class NotificationPost(NotificationInput):
    """The contract's notification `data` (no `id`: the service assigns it), and its addressees."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "title": "New Incident Assigned",
                    "message": "You have been assigned to incident INC-1234",
                    "type": "info",
                    "priority": "normal",
                    "actionUrl": "/infra?tab=incidents",
                    "to": ["john.doe@example.com"],
                },
                {"title": "Maintenance at 22:00", "message": "Checkout is read-only for 10 minutes", "type": "warning"},
            ]
        }
    )

    to: Recipients | None = Field(
        default=None,
        description="`sub`s or e-mail addresses (case-insensitive); absent: everyone allowed.",
    )


class NotificationView(NotificationData):
    """A notification as its reader sees it: the contract's payload, when, by whom, and read or not."""

    created_at: Timestamp
    sent_by: str
    read: bool


class Inbox(BaseModel):
    items: list[NotificationView] = Field(description=f"The last {INBOX_SIZE} you may see: unread first, then newest.")
    unread: int = Field(description="How many of `items` are unread.")


class Marked(BaseModel):
    marked: int = Field(description="How many were unread until now.")


@router.post(
    "/api/notifications",
    summary="Publish a notification",
    status_code=201,
    responses=responses.errors(*responses.WRITE),
    response_model_exclude_none=True,
)
async def publish(request: Request, principal: Publisher, body: NotificationPost) -> NotificationView:
    """Needs `publisher` or `admin`. Title and message are made plain text; the notification goes out as a
    `notification` message to everyone allowed, or to the users `to` names, and into their inboxes."""
    notification, now = await notifications.publish(runtime_of(request).engine, principal, body, body.to)
    return NotificationView(**notification.model_dump(), created_at=now, sent_by=principal.sub, read=False)


@router.get(
    "/api/notifications",
    summary="Your inbox",
    responses=responses.errors(*responses.READ),
    response_model_exclude_none=True,
)
async def read_inbox(request: Request, principal: Authenticated) -> Inbox:
    """The last 50 notifications you may see (addressed to you or to everyone), unread first, then newest."""
    async with runtime_of(request).engine.connect() as conn:
        rows = await store.inbox(conn, principal, INBOX_SIZE)
    items = [_view(row._mapping) for row in rows]
    return Inbox(items=items, unread=sum(not item.read for item in items))


@router.post(
    "/api/notifications/read-all",
    summary="Mark your whole inbox read",
    responses=responses.errors(*responses.READ),
)
async def mark_all_read(request: Request, principal: Authenticated) -> Marked:
    """Marks every notification of your inbox read, for you alone."""
    marked = await notifications.mark_all_read(runtime_of(request).engine, principal, INBOX_SIZE)
    return Marked(marked=marked)


@router.post(
    "/api/notifications/{notification_id}/read",
    summary="Mark one notification read",
    status_code=204,
    response_class=Response,
    responses=responses.errors(404, *responses.READ),
)
async def mark_read(request: Request, principal: Authenticated, notification_id: RowId) -> Response:
    """Marks one notification read, for you alone; 404 when it is not in your inbox."""
    await notifications.mark_read(runtime_of(request).engine, principal, notification_id)
    return Response(status_code=204)


def _view(row: Any) -> NotificationView:
    values = dict(row)
    values["read"] = values.pop("read_at") is not None
    return NotificationView.model_validate(values)
