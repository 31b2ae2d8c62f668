"""The recipe most teams would write: FastAPI, encode/broadcaster on its Postgres
backend, one INSERT per webhook, and a WebSocket endpoint that forwards every
broadcast, with the JWT checked on connect.

Small, untuned and honest on purpose: it is the baseline the benchmarks run
beside the service (same machine, same database cluster, same workload, same
client). It is not part of the service and is not linted or type-checked.

    DATABASE_URL=postgresql://... JWT_SECRET=... uvicorn bench.reference.app:app
"""

import asyncio
import contextlib
import json
import os
from contextlib import asynccontextmanager
from datetime import datetime, timezone

import anyio
import asyncpg
from broadcaster import Broadcast
from broadcaster._backends.postgres import PostgresBackend
from fastapi import FastAPI, Request, WebSocket, WebSocketDisconnect, status
from jose import JWTError, jwt

DATABASE_URL = os.environ["DATABASE_URL"]
JWT_SECRET = os.environ["JWT_SECRET"]
CHANNEL = "events"



class LockedPostgresBackend(PostgresBackend):
    """broadcaster's Postgres backend publishes and (un)listens on its one
    connection, and asyncpg refuses two operations at once on a connection
    ("another operation is in progress", encode/broadcaster#22): concurrent
    webhooks, or subscribers connecting together, fail without this lock (the
    fix proposed upstream in encode/broadcaster#64, never released)."""

    def __init__(self, url: str) -> None:
        super().__init__(url)
        self._lock = asyncio.Lock()

    async def subscribe(self, channel: str) -> None:
        async with self._lock:
            await super().subscribe(channel)

    async def unsubscribe(self, channel: str) -> None:
        async with self._lock:
            await super().unsubscribe(channel)

    async def publish(self, channel: str, message: str) -> None:
        async with self._lock:
            await super().publish(channel, message)


broadcast = Broadcast(backend=LockedPostgresBackend(DATABASE_URL))
# Broadcast.subscribe() races when the channel has no subscriber yet: two
# sockets connecting together both LISTEN and the second replaces the first's
# queue (which then receives nothing, and fails with KeyError on leaving).
# Entering one subscription at a time avoids it.
subscribe_lock = asyncio.Lock()
pool: asyncpg.Pool


@asynccontextmanager
async def lifespan(app: FastAPI):
    global pool
    pool = await asyncpg.create_pool(DATABASE_URL)
    await pool.execute(
        "CREATE TABLE IF NOT EXISTS webhooks ("
        " id bigserial PRIMARY KEY, received_at timestamptz NOT NULL DEFAULT now(), payload jsonb NOT NULL)"
    )
    await broadcast.connect()
    yield
    await broadcast.disconnect()
    await pool.close()


app = FastAPI(lifespan=lifespan)

SEVERITY = {"Highest": "critical", "High": "high", "Medium": "medium", "Low": "low", "Lowest": "low"}


@app.post("/api/webhooks/jira")
async def jira_webhook(request: Request):
    payload = await request.json()
    issue = payload["issue"]
    fields = issue["fields"]
    row_id = await pool.fetchval("INSERT INTO webhooks (payload) VALUES ($1) RETURNING id", json.dumps(payload))
    now = datetime.now(timezone.utc).isoformat()
    message = {
        "id": row_id,
        "type": "incident",
        "action": "created",
        "data": {
            "id": issue["id"],
            "jira_id": issue["key"],
            "title": fields["summary"],
            "severity": SEVERITY.get(fields["priority"]["name"], "medium"),
            "status": "open",
            "squad": fields["project"]["key"].lower(),
            "created_at": now,
            "updated_at": now,
        },
        "timestamp": now,
    }
    await broadcast.publish(channel=CHANNEL, message=json.dumps(message))
    return {"status": "ok", "id": row_id}


@app.post("/api/webhooks/alertmanager")
async def alertmanager_webhook(request: Request):
    """Each alert of the group stored and published on its own, as the Jira webhook is."""
    payload = await request.json()
    for alert in payload["alerts"]:
        row_id = await pool.fetchval("INSERT INTO webhooks (payload) VALUES ($1) RETURNING id", json.dumps(alert))
        labels, annotations = alert["labels"], alert.get("annotations", {})
        now = datetime.now(timezone.utc).isoformat()
        message = {
            "id": row_id,
            "type": "alert",
            "action": "created",
            "data": {
                "id": alert.get("fingerprint"),
                "metric": labels.get("alertname"),
                "severity": labels.get("severity", "medium"),
                "environment": labels.get("env", "production"),
                "status": alert["status"],
                "triggered_at": alert.get("startsAt"),
                "summary": annotations.get("summary"),
                "labels": labels,
            },
            "timestamp": now,
        }
        await broadcast.publish(channel=CHANNEL, message=json.dumps(message))
    return {"status": "ok", "alerts": len(payload["alerts"])}


def _token(websocket: WebSocket) -> str | None:
    header = websocket.headers.get("authorization", "")
    if header.lower().startswith("bearer "):
        return header[7:]
    return websocket.query_params.get("token")


@app.websocket("/api/ws")
async def stream(websocket: WebSocket):
    try:
        claims = jwt.decode(_token(websocket) or "", JWT_SECRET, algorithms=["HS256"])
    except JWTError:
        await websocket.close(code=status.WS_1008_POLICY_VIOLATION)
        return
    await websocket.accept()
    async with contextlib.AsyncExitStack() as stack:
        async with subscribe_lock:
            subscriber = await stack.enter_async_context(broadcast.subscribe(channel=CHANNEL))
        await websocket.send_json({"type": "connected", "user": claims.get("sub")})

        async def receiver() -> None:
            try:
                async for _ in websocket.iter_text():
                    pass
            except WebSocketDisconnect:
                pass
            task_group.cancel_scope.cancel()

        async def sender() -> None:
            async for event in subscriber:
                await websocket.send_text(event.message)

        async with anyio.create_task_group() as task_group:
            task_group.start_soon(receiver)
            task_group.start_soon(sender)
