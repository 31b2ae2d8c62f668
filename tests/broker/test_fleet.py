"""The roles with a real Redis between them: 1 ingest, 2 relays (one active), 2 edges, as
`ops-bridge serve` processes on one database. Two dozen subscribers with different
claims follow the edges (and resume on any edge with `last_event_id`), a sender
posts Jira deliveries to the ingest process, and a fault is injected meanwhile; at
the end every subscriber holds exactly the events its claims let it see, once each
and in order (tests/support/faults.py tallies it, as for the PostgreSQL-only faults).
"""

from __future__ import annotations

import asyncio
import signal

import httpx
import psycopg
import pytest

from tests.conftest import token
from tests.support.database import PgServer
from tests.support.faults import Cluster, Sender, Subscriber, stream_through
from tests.support.fleet import Fleet, fleet, log_reads, scrape_process
from tests.support.server import ServerProcess

pytestmark = pytest.mark.timeout(240)

DELIVERIES = 120
RATE = 30.0


async def _run(running: Fleet, database_url: str, name: str, fault: object) -> list[Subscriber]:
    await running.active_relay()
    await running.wait_ready("edge")
    return await stream_through(
        running.cluster,
        database_url,
        name,
        fault,  # type: ignore[arg-type]
        deliveries=DELIVERIES,
        rate=RATE,
        subscribe_to=running.of("edge"),
        send_to=running.of("ingest"),
    )


async def test_every_subscriber_gets_every_event_once_in_order_and_edges_never_read_the_log(
    database_url: str,
) -> None:
    async def no_fault(_: Cluster, __: list[Subscriber], sender: Sender) -> None:
        await sender.until_accepted(DELIVERIES)

    with fleet(database_url) as running:
        await _run(running, database_url, "broker: no fault", no_fault)
        edges, relays = running.of("edge").live(), running.of("relay").live()
        assert await log_reads(edges) == 0
        assert await log_reads(relays) > 0
        published = sum([(await scrape_process(r)).value("ops_bridge_broker_published_total") for r in relays])
        assert published == DELIVERIES
        # Each role's SIGTERM ends it cleanly (an edge's blocked read of the broker included).
        assert [edges[0].terminate(), relays[0].terminate()] == [0, 0]


async def test_each_role_says_what_it_depends_on_and_only_edges_hold_sockets(database_url: str) -> None:
    with fleet(database_url) as running:
        active = await running.active_relay()
        await running.wait_ready("edge")
        standby = next(r for r in running.of("relay").live() if r is not active)
        ingest, edge = running.of("ingest").live()[0], running.of("edge").live()[0]
        async with httpx.AsyncClient(timeout=5) as http:
            answers = {p.port: (await http.get(f"{p.http}/readyz")).json() for p in (active, standby, ingest, edge)}
            refused = await http.get(f"{ingest.http}/api/ws", headers=_upgrade())

    assert answers[edge.port]["checks"] == {"broker": "ok"}  # no database probe: edges cost PostgreSQL nothing
    assert answers[edge.port]["broker"]["connected"] is True
    assert answers[ingest.port]["checks"] == {"database": "ok", "schema": "ok"}
    assert answers[active.port]["relay"]["leading"] is True
    assert answers[active.port]["relay"]["lag_positions"] == 0
    assert answers[standby.port]["status"] == "ready"
    assert answers[standby.port]["relay"] == {"leading": False}
    assert refused.status_code == 404


def _upgrade() -> dict[str, str]:
    return {
        "Connection": "Upgrade",
        "Upgrade": "websocket",
        "Sec-WebSocket-Version": "13",
        "Sec-WebSocket-Key": "dGhlIHNhbXBsZSBub25jZQ==",
        "Authorization": f"Bearer {token()}",
    }


async def test_no_loss_or_duplicate_when_the_active_relay_is_killed(database_url: str) -> None:
    with fleet(database_url) as running:
        first = await running.active_relay()

        async def fault(_: Cluster, __: list[Subscriber], sender: Sender) -> None:
            await sender.until_accepted(DELIVERIES // 3)
            first.process.send_signal(signal.SIGKILL)
            await asyncio.to_thread(first.process.wait, 10)
            second = await running.active_relay()
            assert second is not first

        await _run(running, database_url, "broker: active relay SIGKILL", fault)


async def test_no_loss_when_redis_restarts_and_subscribers_are_told_to_resume(database_url: str) -> None:
    with fleet(database_url) as running:

        async def fault(_: Cluster, __: list[Subscriber], sender: Sender) -> None:
            await sender.until_accepted(DELIVERIES // 3)
            await asyncio.to_thread(running.redis.restart)

        subscribers = await _run(running, database_url, "broker: redis restarted", fault)
        assert 1013 in {code for s in subscribers for code in s.closes}


async def test_the_relay_keeps_its_listen_while_only_redis_is_down_and_publishes_the_rest_once(
    database_url: str,
) -> None:
    with fleet(database_url) as running:
        relay = await running.active_relay()
        listening = _listen_backends(database_url)
        seen_down: list[dict[str, object]] = []

        async def fault(_: Cluster, __: list[Subscriber], sender: Sender) -> None:
            await sender.until_accepted(DELIVERIES // 3)
            await asyncio.to_thread(running.redis.stop)
            await sender.until_accepted(sender.accepted + 20)  # webhooks arrive while it is down
            seen_down.append(await _relay_says_the_broker_is_down(relay))
            await asyncio.to_thread(running.redis.start)  # empty: the stream is gone
            assert await running.active_relay() is relay

        await _run(running, database_url, "broker: redis down a while", fault)
        relay_metrics = await scrape_process(relay)
        listening_after = _listen_backends(database_url)

    assert len(listening) == 1
    assert listening_after == listening  # the same LISTEN, never re-made
    assert relay_metrics.value("ops_bridge_listener_reconnects_total") == 0
    assert relay_metrics.value("ops_bridge_broker_connected") == 1
    [down] = seen_down
    assert down["broker_connected"] == 0
    assert down["checks"] == {"database": "ok", "schema": "ok", "relay": "down"}
    assert "broker is unreachable" in str(down["reasons"])


async def _relay_says_the_broker_is_down(relay: ServerProcess) -> dict[str, object]:
    """The relay's /readyz once it says it is not ready, with its broker gauge beside it."""
    async with httpx.AsyncClient(timeout=5) as http, asyncio.timeout(30):
        while (answer := await http.get(f"{relay.http}/readyz")).status_code != 503:  # noqa: ASYNC110
            await asyncio.sleep(0.1)  # another process's state: asked, not awaited
    gauge = (await scrape_process(relay)).value("ops_bridge_broker_connected")
    return {**answer.json(), "broker_connected": gauge}


def _listen_backends(database_url: str) -> list[int]:
    """The server processes of the fleet's LISTEN connections (the active relay's alone)."""
    with psycopg.connect(database_url) as conn:
        rows = conn.execute(
            "SELECT pid FROM pg_stat_activity WHERE datname = current_database() "
            "AND application_name = 'ops-bridge-listener'"
        ).fetchall()
    return [int(row[0]) for row in rows]


async def test_no_loss_when_postgresql_restarts_under_the_relay(database_url: str, postgres: PgServer) -> None:
    with fleet(database_url) as running:

        async def fault(_: Cluster, __: list[Subscriber], sender: Sender) -> None:
            await sender.until_accepted(DELIVERIES // 3)
            if postgres.cluster is not None:
                await asyncio.to_thread(postgres.cluster.restart)
            else:  # an external server cannot be restarted from here: cut every connection instead
                with psycopg.connect(database_url, autocommit=True) as conn:
                    conn.execute(
                        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                        "WHERE datname = current_database() AND pid <> pg_backend_pid()"
                    )
            await running.active_relay()  # a relay leads (and publishes) again

        await _run(running, database_url, "broker: postgresql restarted", fault)


async def test_no_loss_when_an_edge_is_killed_and_its_subscribers_resume_on_the_other(database_url: str) -> None:
    with fleet(database_url) as running:

        async def fault(_: Cluster, subscribers: list[Subscriber], sender: Sender) -> None:
            await sender.until_accepted(DELIVERIES // 3)
            victim = running.of("edge").live()[0]
            victim.process.send_signal(signal.SIGKILL)
            await asyncio.to_thread(victim.process.wait, 10)

        subscribers = await _run(running, database_url, "broker: edge SIGKILL", fault)
        assert sum(s.reconnects for s in subscribers) > 0


async def test_event_log_reads_do_not_grow_with_the_number_of_edges(database_url: str) -> None:
    async def no_fault(_: Cluster, __: list[Subscriber], sender: Sender) -> None:
        await sender.until_accepted(DELIVERIES)

    with fleet(database_url, relays=1, edges=4) as running:
        await _run(running, database_url, "broker: 4 edges", no_fault)
        edges = running.of("edge").live()
        assert len(edges) == 4
        assert await log_reads(edges) == 0
        # Every edge was fed: the reads it did not make, the broker served.
        for edge in edges:
            assert (await scrape_process(edge)).value("ops_bridge_broker_received_total") == DELIVERIES
        # And none holds a connection to PostgreSQL: their number costs the database nothing.
        assert _connections(database_url, "ops-bridge-edge") == 0
        assert _connections(database_url, "ops-bridge-listener") == 1  # the active relay's: counted the same way


def _connections(database_url: str, application_name: str) -> int:
    with psycopg.connect(database_url) as conn:
        row = conn.execute(
            "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND application_name = %s",
            (application_name,),
        ).fetchone()
    return int(row[0]) if row else 0
