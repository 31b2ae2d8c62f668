"""/readyz of a process with a role other than `all` (docs/deployment.md#roles): each says
what it depends on, and nothing else.

    ingest  the database and its schema
    relay   the database and its schema; while active, its LISTEN connection and the
            broker, and its lag behind the log in positions and seconds (a standby is ready)
    edge    the broker, and how far behind its stream the edge is; never the database,
            which an edge reads only for old resumes (a check per probe per edge would be
            the connections the roles exist to save)
"""

from __future__ import annotations

import time
from typing import Any

from sqlalchemy import text

from app.broker.edge_feed import EdgeFeed
from app.broker.relay import Relay
from app.runtime import Runtime

_LAG = (
    "SELECT coalesce(max(position), %(after)s), extract(epoch FROM now() - min(created_at))::float8 "
    "FROM events WHERE position > %(after)s"
)


async def relay_lag(runtime: Runtime, relay: Relay) -> dict[str, Any]:
    """How far the active relay's publishing trails the log: positions and the oldest unpublished event's age."""
    publisher = relay.publisher
    if not relay.leading or publisher is None or not publisher.started:
        return {"leading": relay.leading}
    async with runtime.engine.connect() as conn:
        row = (await conn.execute(text(_LAG.replace("%(after)s", ":after")), {"after": publisher.position})).one()
    return {
        "leading": True,
        "broker_connected": publisher.unreachable is None,
        "position": publisher.position,
        "lag_positions": int(row[0]) - publisher.position,
        "lag_seconds": round(float(row[1] or 0.0), 3),
    }


def relay_reason(relay: Relay) -> str | None:
    if not relay.leading:
        return None  # standing by: ready to take over, which is its work
    listener, publisher = relay.listener, relay.publisher
    if listener is None or not listener.ready:
        return "active relay, but not publishing: the LISTEN connection or the broker is being re-made"
    if publisher is not None and publisher.unreachable is not None:
        return (
            f"active relay, but the broker is unreachable ({publisher.unreachable}): it holds position "
            f"{publisher.position} and publishes from there when the broker answers"
        )
    return None


async def edge_details(feed: EdgeFeed) -> dict[str, Any]:
    details: dict[str, Any] = {"connected": feed.ready, "reconnects": feed.reconnects}
    if feed.last_read_at:
        details["last_read_seconds_ago"] = round(time.monotonic() - feed.last_read_at, 3)
    behind = await feed.behind()
    if behind is not None:
        details["behind_positions"] = behind
    return details


def edge_reason(feed: EdgeFeed) -> str | None:
    if feed.ready:
        return None
    why = f" ({feed.lost_reason})" if feed.lost_reason else ""
    return f"the broker is unreachable{why}; subscribers were told to resume elsewhere"
