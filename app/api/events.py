"""GET /api/events: the event log for clients that poll, or resume, over HTTP.

The same messages the socket sends (byte for byte, `id` included), filtered by
the same rule, oldest first, and the position to ask from next.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request, Response
from pydantic import BaseModel, ConfigDict, Field

from app.api import responses
from app.api.auth import Authenticated
from app.api.list_queries import AnyOf
from app.api.routing import JsonApiRoute
from app.contract.events import AnyEvent
from app.contract.payloads import Topic
from app.errors import Conflict
from app.fanout.log import read_visible
from app.runtime import runtime_of
from app.store import event_retention as retention

router = APIRouter(route_class=JsonApiRoute, tags=["events"])

_MAX_POSITION = 2**63 - 1


class PositionUnknown(Conflict):
    code = "RESUME_POSITION_UNKNOWN"


class EventQuery(BaseModel):
    model_config = ConfigDict(extra="forbid")

    after: int = Field(default=0, ge=0, le=_MAX_POSITION, description="The last position you have seen (0: all).")
    limit: int = Field(default=100, ge=1, le=1000, description="At most this many events.")
    type: Annotated[list[Topic], AnyOf] = Field(
        default_factory=list, description="Only these message types (repeat, or separate with commas)."
    )


class EventLogPage(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "events": [
                        {
                            "id": 1042,
                            "type": "asset",
                            "action": "created",
                            "data": {
                                "id": "i-0a1b2c3d4e5f67890",
                                "hostname": "web-server-01",
                                "asset_type": "EC2",
                                "risk_level": "medium",
                                "environment": "production",
                                "created_at": "2025-01-17T12:00:00.000Z",
                                "updated_at": "2025-01-17T12:00:00.000Z",
                            },
                            "timestamp": "2025-01-17T12:00:00.000Z",
                        }
                    ],
                    "next_after": 1042,
                }
            ]
        }
    )

    events: list[AnyEvent] = Field(description="Oldest first: the socket's messages, each with its `id`.")
    next_after: int = Field(description="Pass as `after` next time; also the `last_event_id` to open the socket with.")
    complete: bool = Field(
        description="False when `after` is older than the log's retention (RESUME_TOO_OLD): events after it were "
        "purged, so re-fetch your data; the page continues with what is kept."
    )


@router.get(
    "/api/events",
    summary="The event log after a position",
    response_model=EventLogPage,
    responses=responses.errors(
        409, *responses.READ, e409="RESUME_POSITION_UNKNOWN: `after` is ahead of the event log (was it reset?)"
    ),
)
async def read_events(request: Request, principal: Authenticated, query: Annotated[EventQuery, Query()]) -> Response:
    """The messages the socket sent after position `after`, byte for byte and filtered by the same rule,
    oldest first; poll with `next_after`, or open the socket with `?last_event_id=<next_after>`."""
    async with runtime_of(request).engine.connect() as conn:
        page = await read_visible(conn, principal, after=query.after, limit=query.limit, topics=query.type)
        complete = query.after >= await retention.purged_through(conn)
    if query.after > page.newest:
        raise PositionUnknown(f"after={query.after} is ahead of the event log, whose newest position is {page.newest}")
    # The stored bodies are the socket's messages already: splice them, never re-serialize.
    body = (
        b'{"events":['
        + b",".join(event.body for event in page.events)
        + b'],"next_after":%d,"complete":%s}'
        % (
            page.next_after,
            b"true" if complete else b"false",
        )
    )
    return Response(body, media_type="application/json")
