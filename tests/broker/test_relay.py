"""The relay's publishing, against a real Redis: explicit ids make a takeover exact, and a
broker that stops answering costs the relay's LISTEN nothing (the suite's real PostgreSQL)."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator

import psycopg
from prometheus_client import REGISTRY

from app.api.role_health import relay_reason
from app.broker import stream
from app.broker.relay import Publisher, Relay
from app.fanout.frames import Event
from tests.support.redis import RedisServer

STREAM = "events"


def _event(position: int) -> Event:
    return Event.from_row(position, "incident", "ops", None, None, '{"n":1}')


async def test_a_relay_that_takes_over_behind_its_predecessor_doubles_nothing(redis: RedisServer) -> None:
    client = stream.connect(redis.url)
    try:
        first = Publisher(client, STREAM, max_events=1000)
        first.start_at(0)
        await first.publish([_event(1), _event(2), _event(3)])
        # The successor started from the stream's last id before the predecessor's last batch landed.
        second = Publisher(client, STREAM, max_events=1000)
        second.start_at(1)
        await second.publish([_event(2), _event(3), _event(4)])

        held = await stream.range_after(client, STREAM, 0, 10, count=100)
    finally:
        await client.aclose()

    assert [(entry.event.position, entry.prev) for entry in held] == [(1, 0), (2, 1), (3, 2), (4, 3)]
    assert second.position == 4


async def test_a_relay_that_loses_only_the_broker_keeps_its_listen_and_publishes_from_where_it_stopped(
    redis: RedisServer, database_url: str
) -> None:
    relay = Relay(listen_url=database_url, broker_url=redis.url, stream_name=STREAM, max_events=1000, poll_interval=0.5)
    async with _running(relay):
        async with asyncio.timeout(20):
            publisher = await relay.wait_publishing()
            first = await _append(database_url)
            assert await _entries_through(redis, first) == [(first, 0)]
        listening = await _listen_backend(database_url)

        await asyncio.to_thread(redis.stop)
        held = [await _append(database_url) for _ in range(5)]
        async with asyncio.timeout(20):
            await publisher.wait_reachable(False)
        held.append(await _append(database_url))  # committed while the relay knows the broker is down
        down_reason = relay_reason(relay)
        down_gauge = REGISTRY.get_sample_value("ops_bridge_broker_connected")

        await asyncio.to_thread(redis.start)  # empty: no persistence, the stream is gone
        async with asyncio.timeout(20):
            await publisher.wait_reachable(True)
            published = await _entries_through(redis, held[-1])

        assert relay.listener is not None
        assert (relay.listener.ready, relay.listener.reconnects) == (True, 0)
        assert await _listen_backend(database_url) == listening
        assert relay_reason(relay) is None
        assert REGISTRY.get_sample_value("ops_bridge_broker_connected") == 1

    assert "broker is unreachable" in (down_reason or "")
    assert down_gauge == 0
    # Everything after the first, once each, in order, chained from where the relay stopped.
    assert published == list(zip(held, [first, *held[:-1]], strict=True))


@contextlib.asynccontextmanager
async def _running(relay: Relay) -> AsyncIterator[None]:
    task = asyncio.create_task(relay.run())
    try:
        yield
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task


async def _append(database_url: str) -> int:
    """One event committed to the log (its trigger rings the relay's doorbell); its position."""
    async with await psycopg.AsyncConnection.connect(database_url, autocommit=True) as conn:
        inserted = await conn.execute(
            "INSERT INTO events (topic, action, message) VALUES ('task', 'created', '{}') RETURNING id"
        )
        ids = await inserted.fetchone()
        assert ids is not None
        # The position is drawn as the row commits (the log's trigger), so it is read afterwards.
        committed = await conn.execute("SELECT position FROM events WHERE id = %s", (ids[0],))
        row = await committed.fetchone()
    assert row is not None
    return int(row[0])


async def _entries_through(redis: RedisServer, last: int) -> list[tuple[int, int]]:
    """(position, prev) of every entry the stream holds, once it holds `last` (a blocking read waits)."""
    found: list[tuple[int, int]] = []
    client = stream.connect(redis.url)  # a client of its own: the test restarts Redis under the others
    try:
        while not found or found[-1][0] < last:
            after = found[-1][0] if found else 0
            entries = await stream.read_after(client, STREAM, after, count=100, block_ms=5000)
            found.extend((entry.event.position, entry.prev) for entry in entries)
    finally:
        await client.aclose()
    return found


async def _listen_backend(database_url: str) -> int:
    """The server process of the relay's LISTEN connection."""
    async with await psycopg.AsyncConnection.connect(database_url, autocommit=True) as conn:
        cursor = await conn.execute(
            "SELECT pid FROM pg_stat_activity WHERE datname = current_database() "
            "AND application_name = 'ops-bridge-listener'"
        )
        rows = await cursor.fetchall()
    assert len(rows) == 1, rows
    return int(rows[0][0])
