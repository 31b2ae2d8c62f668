"""GET /metrics: what operators graph and alert on, counted where it happens.

Metrics are process-wide and the suite runs many servers in one process, so
each test compares a scrape after with one before."""

from __future__ import annotations

import asyncio
import json
import secrets
import socket
from collections.abc import Iterator
from pathlib import Path

import httpx
import psycopg
import pytest
import sqlalchemy.exc
from sqlalchemy.engine import make_url
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed

from app.errors import BodyTooLarge, InvalidPayload, MalformedBody, RateLimited, StoreUnavailable, Unauthenticated
from app.observability.webhooks import outcome_of_error
from tests.conftest import make_settings, token
from tests.support.clients import fixture_bytes, open_stream, receive, receive_events
from tests.support.jira import issue_event
from tests.support.scrape import Scrape, scrape, scrape_until
from tests.support.server import RunningServer, server_in_thread

ALERT_TOKEN = "alert-token-for-the-metrics-test"


@pytest.fixture
def quiet(database_url: str, tmp_path: Path) -> Iterator[RunningServer]:
    """A server whose own jobs publish nothing during a test, so event counts are exact."""
    settings = make_settings(database_url, tmp_path, sla_publish_interval_seconds=3600, alert_webhook_token=ALERT_TOKEN)
    with server_in_thread(settings) as running:
        yield running


async def _drain(ws: ClientConnection) -> None:
    async for _ in ws:
        pass


async def _flood_then_drain(ws: ClientConnection) -> None:
    for _ in range(20):
        await ws.send('{"action":"ping"}')
    await _drain(ws)


def _delta(after: Scrape, before: Scrape, name: str, **labels: str) -> float:
    return after.value(name, **labels) - before.value(name, **labels)


async def test_webhooks_are_counted_by_sender_and_outcome(quiet: RunningServer) -> None:
    jira = {"X-Atlassian-Webhook-Identifier": "delivery-1"}
    bearer = {"Authorization": f"Bearer {ALERT_TOKEN}"}
    async with httpx.AsyncClient(base_url=quiet.http) as http:
        before = await scrape(http)
        await http.post("/api/webhooks/jira", json=issue_event(1), headers=jira)
        await http.post("/api/webhooks/jira", json=issue_event(1), headers=jira)
        await http.post("/api/webhooks/jira", json=issue_event(1))
        await http.post("/api/webhooks/jira", json={"webhookEvent": "sprint_started", "sprint": {"id": 1}})
        await http.post("/api/webhooks/jira", content=b"{not json")
        await http.post("/api/webhooks/jira", content=b"x" * 2 * 1024 * 1024)
        await http.post("/api/webhooks/alertmanager", content=fixture_bytes("alertmanager/resolved_group.json"))
        await http.post(
            "/api/webhooks/alertmanager", content=fixture_bytes("alertmanager/resolved_group.json"), headers=bearer
        )
        after = await scrape(http)

    counted = {
        (sender, outcome): _delta(after, before, "ops_bridge_webhooks_total", sender=sender, outcome=outcome)
        for sender in ("jira", "alertmanager")
        for outcome in ("applied", "unchanged", "duplicate", "ignored", "rejected", "too_large", "unauthenticated")
    }
    assert {key: n for key, n in counted.items() if n} == {
        ("jira", "applied"): 1,
        ("jira", "duplicate"): 1,
        ("jira", "unchanged"): 1,
        ("jira", "ignored"): 1,
        ("jira", "rejected"): 1,
        ("jira", "too_large"): 1,
        ("alertmanager", "unauthenticated"): 1,
        ("alertmanager", "applied"): 1,
    }
    assert _delta(after, before, "ops_bridge_webhook_seconds_count", sender="jira") == 6


async def test_a_webhook_flood_is_counted_as_rate_limited(database_url: str, tmp_path: Path) -> None:
    settings = make_settings(database_url, tmp_path, webhook_rate_limit_per_second=1)
    with server_in_thread(settings) as limited:
        async with httpx.AsyncClient(base_url=limited.http) as http:
            before = await scrape(http)
            statuses = [(await http.post("/api/webhooks/jira", json=issue_event(n))).status_code for n in range(4)]
            after = await scrape(http)

    assert statuses.count(429) >= 1
    counted = _delta(after, before, "ops_bridge_webhooks_total", sender="jira", outcome="rate_limited")
    assert counted == statuses.count(429)


@pytest.mark.parametrize(
    ("error", "outcome"),
    [
        (RateLimited("slow down", retry_after=1), "rate_limited"),
        (BodyTooLarge("big"), "too_large"),
        (Unauthenticated("who"), "unauthenticated"),
        (InvalidPayload("shape"), "rejected"),
        (MalformedBody("json"), "rejected"),
        (StoreUnavailable("down"), "unavailable"),
        (ConnectionRefusedError(), "unavailable"),
        (psycopg.OperationalError("connection failed"), "unavailable"),
        (psycopg.InterfaceError("connection closed"), "unavailable"),
        (sqlalchemy.exc.OperationalError("SELECT 1", {}, Exception("gone")), "unavailable"),
        # Answered 500, not 503: the database was there and refused the statement.
        (sqlalchemy.exc.ProgrammingError("SELECT 1", {}, Exception("refused")), "error"),
        (RuntimeError("a bug"), "error"),
    ],
)
def test_each_webhook_error_has_its_outcome(error: Exception, outcome: str) -> None:
    assert outcome_of_error(error) == outcome


async def test_connections_and_subscriptions_by_topic_follow_the_sockets(quiet: RunningServer) -> None:
    async with httpx.AsyncClient(base_url=quiet.http) as http:
        before = await scrape(http)
        async with (
            await open_stream(quiet.ws, token(sub="metrics-user-ana")) as everything,
            await open_stream(quiet.ws, token(sub="metrics-user-bo")) as incidents_only,
        ):
            await receive(everything)
            await receive(incidents_only)
            await incidents_only.send(json.dumps({"action": "subscribe", "topics": ["incidents"]}))
            await receive(incidents_only)
            during = await scrape(http)
        after = await scrape_until(
            http, lambda s: s.value("ops_bridge_ws_connections") == before.value("ops_bridge_ws_connections")
        )

    assert _delta(during, before, "ops_bridge_ws_connections") == 2
    assert _delta(during, before, "ops_bridge_ws_subscriptions", topic="incident") == 2
    assert _delta(during, before, "ops_bridge_ws_subscriptions", topic="alert") == 1
    assert _delta(after, before, "ops_bridge_ws_subscriptions", topic="incident") == 0
    assert _delta(after, before, "ops_bridge_ws_subscriptions", topic="alert") == 0
    # Bounded labels: no user, no token.
    assert "metrics-user" not in during.text
    assert "eyJ" not in during.text


async def test_one_event_counts_its_deliveries_once_and_times_its_fan_out_and_latency(quiet: RunningServer) -> None:
    async with httpx.AsyncClient(base_url=quiet.http) as http:
        sockets = [await open_stream(quiet.ws, token(sub=f"s{n}")) for n in range(3)]
        for ws in sockets:
            await receive(ws)
            await ws.send(json.dumps({"action": "subscribe", "topics": ["incidents"]}))
            await receive(ws)
        before = await scrape(http)
        await http.post("/api/webhooks/jira", json=issue_event(3))
        events = [(await receive_events(ws, 1))[0] for ws in sockets]
        after = await scrape(http)
        for ws in sockets:
            await ws.close()

    offered = _delta(after, before, "ops_bridge_fan_out_seconds_count")
    assert _delta(after, before, "ops_bridge_ws_messages_delivered_total") == 3
    assert offered >= 1
    assert _delta(after, before, "ops_bridge_webhook_to_socket_seconds_count") == offered
    assert _delta(after, before, "ops_bridge_webhook_to_socket_seconds_sum") > 0
    assert _delta(after, before, "ops_bridge_listener_lag_seconds_count") >= 1
    assert after.value("ops_bridge_event_log_position") == events[0]["id"]


async def test_a_token_expiring_mid_connection_is_counted_as_dropped(database_url: str, tmp_path: Path) -> None:
    settings = make_settings(database_url, tmp_path, jwt_leeway_seconds=0)
    with server_in_thread(settings) as server:
        async with httpx.AsyncClient(base_url=server.http) as http:
            before = await scrape(http)
            async with await open_stream(server.ws, token(ttl=1)) as ws:
                await receive(ws)
                with pytest.raises(ConnectionClosed) as closed:
                    await asyncio.wait_for(_drain(ws), 10)
            after = await scrape(http)

    assert closed.value.rcvd is not None
    assert closed.value.rcvd.code == 4001
    assert _delta(after, before, "ops_bridge_ws_dropped_total", reason="token_expired") == 1


async def test_a_client_past_the_rate_limit_is_counted_as_dropped(database_url: str, tmp_path: Path) -> None:
    settings = make_settings(database_url, tmp_path, ws_rate_limit_per_minute=1)
    with server_in_thread(settings) as server:
        async with httpx.AsyncClient(base_url=server.http) as http:
            before = await scrape(http)
            async with await open_stream(server.ws, token()) as ws:
                await receive(ws)
                with pytest.raises(ConnectionClosed) as closed:
                    await asyncio.wait_for(_flood_then_drain(ws), 10)
            after = await scrape(http)

    assert closed.value.rcvd is not None
    assert closed.value.rcvd.code == 1008
    assert _delta(after, before, "ops_bridge_ws_dropped_total", reason="rate_limited") == 1


async def test_a_slow_consumer_cut_off_with_4008_is_counted_as_dropped(database_url: str, tmp_path: Path) -> None:
    settings = make_settings(database_url, tmp_path, ws_max_buffered_bytes=16 * 1024, ws_socket_send_buffer_bytes=4096)
    with server_in_thread(settings) as server:
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        sock.connect(("127.0.0.1", server.port))
        sock.setblocking(False)
        async with httpx.AsyncClient(base_url=server.http) as http:
            before = await scrape(http)
            headers = {"Authorization": f"Bearer {token()}"}
            async with connect(server.ws, additional_headers=headers, sock=sock, max_queue=1) as slow:
                # It stops reading; far more than its buffers hold is sent to it.
                for n in range(100):
                    delivery = issue_event(n)
                    # Incompressible: compression must not shrink it below the buffers.
                    delivery["issue"]["fields"]["description"] = secrets.token_urlsafe(3750)
                    await http.post("/api/webhooks/jira", json=delivery)
                    if (await scrape(http)).value("ops_bridge_ws_dropped_total", reason="slow_consumer") > (
                        before.value("ops_bridge_ws_dropped_total", reason="slow_consumer")
                    ):
                        break
                with pytest.raises(ConnectionClosed) as closed:
                    await asyncio.wait_for(_drain(slow), 20)
            after = await scrape(http)

    assert closed.value.rcvd is not None
    assert closed.value.rcvd.code == 4008
    assert _delta(after, before, "ops_bridge_ws_dropped_total", reason="slow_consumer") == 1


async def test_replays_are_counted_by_where_they_were_read_from(database_url: str, tmp_path: Path) -> None:
    settings = make_settings(database_url, tmp_path, replay_buffer_events=2)
    with server_in_thread(settings) as server:
        async with httpx.AsyncClient(base_url=server.http) as http:
            async with await open_stream(server.ws, token()) as watcher:
                await receive(watcher)
                for n in range(3):
                    await http.post("/api/webhooks/jira", json=issue_event(n))
                positions = [event["id"] for event in await receive_events(watcher, 3)]
            before = await scrape(http)
            async with await open_stream(f"{server.ws}?last_event_id={positions[0]}", token()) as recent:
                await receive(recent)
                assert len(await receive_events(recent, 2)) == 2
            middle = await scrape(http)
            async with await open_stream(f"{server.ws}?last_event_id=0", token()) as old:
                await receive(old)
                assert len(await receive_events(old, 3)) == 3
            after = await scrape(http)

    assert _delta(middle, before, "ops_bridge_replay_reads_total", source="memory") == 1
    assert _delta(middle, before, "ops_bridge_replay_reads_total", source="database") == 0
    assert _delta(after, middle, "ops_bridge_replay_reads_total", source="database") == 1


async def test_listener_reconnects_are_counted(quiet: RunningServer, database_url: str) -> None:
    name = make_url(database_url).database
    admin_url = make_url(database_url).set(database="postgres").render_as_string(hide_password=False)
    async with httpx.AsyncClient(base_url=quiet.http) as http:
        before = await scrape(http)
        with psycopg.connect(admin_url, autocommit=True) as admin:
            admin.execute(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                "WHERE application_name = 'ops-bridge-listener' AND datname = %s",
                [name],
            )
        after = await scrape_until(
            http,
            lambda s: _delta(s, before, "ops_bridge_listener_reconnects_total") >= 1,
        )

    assert _delta(after, before, "ops_bridge_listener_reconnects_total") >= 1


async def test_a_single_process_exports_its_process_metrics(http: httpx.AsyncClient) -> None:
    found = await scrape(http)

    assert found.value("process_resident_memory_bytes") > 0
    assert found.value("process_open_fds") > 0


async def test_with_metrics_token_set_a_scrape_must_present_it(database_url: str, tmp_path: Path) -> None:
    secret = "metrics-token-for-the-test-0123456789"
    with server_in_thread(make_settings(database_url, tmp_path, metrics_token=secret)) as server:
        async with httpx.AsyncClient(base_url=server.http) as http:
            missing = await http.get("/metrics")
            wrong = await http.get("/metrics", headers={"Authorization": "Bearer nope"})
            right = await scrape(http, Authorization=f"Bearer {secret}")

    assert (missing.status_code, wrong.status_code) == (401, 401)
    assert secret not in missing.text + right.text
    assert right.value("ops_bridge_ws_connections") >= 0
