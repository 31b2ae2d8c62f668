"""Real clients: an HTTP client and WebSocket connections with small helpers."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import psycopg
from websockets.asyncio.client import ClientConnection, connect

# Copies of the shared sample deliveries, plus our own: the suite must run from
# a clone that has nothing beside it.
FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"

RECEIVE_TIMEOUT = 10.0


def fixture_bytes(name: str) -> bytes:
    """A sample delivery's body, byte for byte, by its path under tests/fixtures."""
    return (FIXTURES / name).read_bytes()


def fixture_json(name: str) -> Any:
    return json.loads(fixture_bytes(name))


async def open_stream(url: str, token: str | None, **kwargs: Any) -> ClientConnection:
    headers = dict(kwargs.pop("additional_headers", {}) or {})
    if token is not None:
        headers["Authorization"] = f"Bearer {token}"
    # Generous: a shared CI machine can be very busy; a refused handshake still fails at once.
    return await connect(url, additional_headers=headers, open_timeout=30, **kwargs)


async def open_stream_after_writes(
    url: str, database_url: str | None, token: str | None, **kwargs: Any
) -> ClientConnection:
    """A stream that starts after everything committed so far.

    A plain connection starts where this process's listener has got to, which
    may be just before what the test wrote a moment ago: those events would
    then arrive as live ones. Resuming from the newest committed position
    leaves them out, however far the listener has got."""
    # `Settings.database_url` is optional; a test server always has one.
    assert database_url is not None, "the server under test has no database"
    async with await psycopg.AsyncConnection.connect(database_url) as conn:
        cursor = await conn.execute("SELECT coalesce(max(position), 0) FROM events")
        row = await cursor.fetchone()
    newest = row[0] if row else 0
    return await open_stream(f"{url}?last_event_id={newest}", token, **kwargs)


async def receive(ws: ClientConnection, timeout: float = RECEIVE_TIMEOUT) -> dict[str, Any]:
    raw = await asyncio.wait_for(ws.recv(), timeout)
    message: dict[str, Any] = json.loads(raw)
    return message


async def receive_until(
    ws: ClientConnection, predicate: Callable[[dict[str, Any]], bool], timeout: float = RECEIVE_TIMEOUT
) -> dict[str, Any]:
    async with asyncio.timeout(timeout):
        while True:
            message = await receive(ws, timeout)
            if predicate(message):
                return message


async def receive_events(ws: ClientConnection, count: int, timeout: float = RECEIVE_TIMEOUT) -> list[dict[str, Any]]:
    """The next `count` event messages (those with an `id`), skipping control messages."""
    events: list[dict[str, Any]] = []
    async with asyncio.timeout(timeout):
        while len(events) < count:
            message = await receive(ws, timeout)
            if "id" in message:
                events.append(message)
    return events


async def expect_silence(ws: ClientConnection, probe_id: str = "probe") -> list[dict[str, Any]]:
    """Prove nothing else is queued for `ws`: ping, and return whatever arrives before the pong.

    Frames to a connection go out in order, so anything sent before the pong is
    seen before it; no sleeping on a guess."""
    await ws.send(json.dumps({"action": "ping", "id": probe_id}))
    before: list[dict[str, Any]] = []
    while True:
        message = await receive(ws)
        if message.get("action") == "pong" and message["data"]["original_message_id"] == probe_id:
            return before
        before.append(message)
