"""No fault of the service, the database or the network makes a subscriber miss
or double a message.

Each test runs two app processes on one database, two dozen subscribers with
different claims spread over them, and a steady stream of Jira deliveries,
and injects one fault while the stream runs. At the end every subscriber must
hold exactly the events its claims let it see, once each and in order, and
every delivery must be stored exactly once with its event. The figures are
printed at the end of the run.
"""

from __future__ import annotations

import asyncio
import contextlib
import signal
from collections.abc import Awaitable, Callable
from typing import Any

import psycopg
import pytest

from tests.support import report
from tests.support.database import PgServer
from tests.support.faults import (
    HEADER,
    Cluster,
    Sender,
    Subscriber,
    Tally,
    cluster,
    principal_for,
    visible_events,
)

pytestmark = pytest.mark.timeout(180)

FAULT_SECTION = "delivery under faults: every subscriber, every event"

CLAIMS: list[dict[str, Any]] = [
    {"roles": ("admin",), "squads": (), "environments": ()},
    {"squads": ("ops",), "environments": ()},
    {"squads": ("pay",), "environments": ()},
    {"squads": ("ops", "pay"), "environments": ()},
    {"squads": (), "environments": ("production",)},  # Jira issues carry no environment: sees none
    {"squads": ("*",), "environments": ("*",)},
]
SUBSCRIBERS = 24
DELIVERIES = 120
RATE = 30.0

Fault = Callable[[Cluster, list[Subscriber], Sender], Awaitable[None]]


async def _after(sender: Sender, accepted: int) -> None:
    """Wait until the stream is well under way (counted in accepted deliveries)."""
    await sender.until_accepted(accepted)


async def _run(
    database_url: str, name: str, fault: Fault, *, description_bytes: int = 0, first_reads_slowly: bool = False
) -> list[Subscriber]:
    with cluster(database_url, 2) as running:
        subscribers = [Subscriber(f"sub-{i}", CLAIMS[i % len(CLAIMS)], running) for i in range(SUBSCRIBERS)]
        subscribers[0].small_receive_buffer = first_reads_slowly
        following = [asyncio.create_task(s.run()) for s in subscribers]
        try:
            async with asyncio.timeout(30):
                await asyncio.gather(*(s.connected.wait() for s in subscribers))
            sender = Sender(running, RATE, description_bytes)
            await asyncio.gather(sender.send(DELIVERIES), fault(running, subscribers, sender))
            expected = {s.name: visible_events(database_url, principal_for(s.claims)) for s in subscribers}
            async with asyncio.timeout(60):
                await asyncio.gather(*(s.until(len(expected[s.name])) for s in subscribers))
        finally:
            for task in following:
                task.cancel()
            await asyncio.gather(*following, return_exceptions=True)
    tally = _tally(name, sender, subscribers, expected)
    if not report.SECTIONS[FAULT_SECTION]:
        report.add(FAULT_SECTION, HEADER)
    report.add(FAULT_SECTION, tally.row())
    _assert_stored_exactly_once(database_url)
    assert (tally.lost, tally.duplicated, tally.out_of_order) == (0, 0, 0), tally
    for subscriber in subscribers:
        assert subscriber.received == expected[subscriber.name], subscriber.name
    return subscribers


def _tally(name: str, sender: Sender, subscribers: list[Subscriber], expected: dict[str, list[int]]) -> Tally:
    lost = sum(len(set(expected[s.name]) - s.seen) for s in subscribers)
    return Tally(
        fault=name,
        sent=sender.accepted,
        expected=sum(len(v) for v in expected.values()),
        received=sum(len(s.received) for s in subscribers),
        lost=lost,
        duplicated=sum(s.duplicates for s in subscribers),
        out_of_order=sum(s.out_of_order for s in subscribers),
        reconnects=sum(s.reconnects for s in subscribers),
    )


def _assert_stored_exactly_once(database_url: str) -> None:
    """Every delivery stored once, with exactly one event: nothing half-written, nothing doubled."""
    with psycopg.connect(database_url) as conn:
        incidents = conn.execute("SELECT count(*) FROM incidents").fetchone()
        events = conn.execute("SELECT count(*), count(DISTINCT message->'data'->>'id') FROM events").fetchone()
        deliveries = conn.execute("SELECT count(*) FROM webhook_deliveries WHERE outcome = 'applied'").fetchone()
    assert incidents == (DELIVERIES,)
    assert events == (DELIVERIES, DELIVERIES)
    assert deliveries == (DELIVERIES,)


def _terminate(database_url: str, where: str) -> int:
    with psycopg.connect(database_url, autocommit=True) as conn:
        rows = conn.execute(
            f"SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = current_database() "
            f"AND pid <> pg_backend_pid() AND {where}"
        ).fetchall()
    return len(rows)


async def test_no_loss_when_the_listen_connections_are_killed(database_url: str) -> None:
    async def fault(_: Cluster, __: list[Subscriber], sender: Sender) -> None:
        for share in (3, 2):
            await _after(sender, DELIVERIES // share)
            assert _terminate(database_url, "application_name = 'ops-bridge-listener'") >= 1

    await _run(database_url, "listener connection killed x2", fault)


async def test_no_loss_when_postgresql_restarts(database_url: str, postgres: PgServer) -> None:
    async def fault(_: Cluster, __: list[Subscriber], sender: Sender) -> None:
        await _after(sender, DELIVERIES // 3)
        if postgres.cluster is not None:
            await asyncio.to_thread(postgres.cluster.restart)
        else:  # an external server cannot be restarted from here: cut every connection instead
            _terminate(database_url, "true")

    await _run(database_url, "postgresql restarted", fault)


async def test_no_loss_when_an_app_process_is_killed(database_url: str) -> None:
    async def fault(running: Cluster, _: list[Subscriber], sender: Sender) -> None:
        await _after(sender, DELIVERIES // 3)
        victim = running.live()[0]
        victim.process.send_signal(signal.SIGKILL)
        await asyncio.to_thread(victim.process.wait, 10)
        await _after(sender, 2 * DELIVERIES // 3)
        await asyncio.to_thread(running.start)

    await _run(database_url, "app process SIGKILL", fault)


async def test_no_loss_when_an_app_process_shuts_down_gracefully(database_url: str) -> None:
    closes: list[int | None] = []

    async def fault(running: Cluster, subscribers: list[Subscriber], sender: Sender) -> None:
        await _after(sender, DELIVERIES // 3)
        victim = running.live()[0]
        status = await asyncio.to_thread(victim.terminate)
        assert status == 0
        closes.extend(code for s in subscribers for code in s.closes)
        await asyncio.to_thread(running.start)

    await _run(database_url, "app process SIGTERM", fault)
    assert 1001 in closes
    assert 1006 not in closes


async def test_no_loss_for_a_slow_consumer_that_is_cut_off_and_resumes(database_url: str) -> None:

    async def fault(_: Cluster, subscribers: list[Subscriber], sender: Sender) -> None:
        slow, others = subscribers[0], subscribers[1:]
        await _after(sender, 10)
        slow.reading.clear()
        # While it does not read, everyone else keeps receiving: 40 more events
        # each, far more than the slow one's buffers hold.
        active = [s for s in others if s.received]
        async with asyncio.timeout(30):
            await asyncio.gather(*(s.until(len(s.received) + 40) for s in active))
        slow.reading.set()

    subscribers = await _run(
        database_url, "slow consumer cut off (4008)", fault, description_bytes=5000, first_reads_slowly=True
    )
    # It was cut off with the documented code, resumed, and (checked by _run) missed nothing.
    assert 4008 in subscribers[0].closes
    assert all(4008 not in s.closes for s in subscribers[1:])


async def test_no_loss_when_client_connections_drop(database_url: str) -> None:
    async def fault(_: Cluster, subscribers: list[Subscriber], sender: Sender) -> None:
        for share in (4, 2):
            await _after(sender, DELIVERIES // share)
            for subscriber in subscribers[::3]:
                if subscriber.ws is not None:
                    with contextlib.suppress(Exception):
                        subscriber.ws.transport.abort()

    await _run(database_url, "client connections dropped", fault)
