"""NOTIFY that never arrives (the LISTEN connection behind a transaction pooler)
is noticed and said: /readyz's `notify` check is degraded while the process stays
ready, one WARNING names the fix, and a gauge shows it; events still arrive,
found by the listener's timer."""

from __future__ import annotations

import logging
from pathlib import Path

import httpx
import pytest
from prometheus_client import REGISTRY

from app.fanout.doorbell import UNANNOUNCED_READS, Doorbell
from tests.conftest import make_settings, token
from tests.support.clients import open_stream, receive, receive_events
from tests.support.jira import issue_event
from tests.support.pgbouncer import Pooler
from tests.support.scrape import scrape
from tests.support.server import server_in_thread


async def test_notifications_lost_behind_a_transaction_pooler_are_reported_once_while_events_still_arrive(
    pooler: Pooler, database_url: str, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    settings = make_settings(pooler.url(database_url), tmp_path, listener_poll_interval=0.2)
    with server_in_thread(settings) as server:
        async with (
            await open_stream(server.ws, token()) as ws,
            httpx.AsyncClient(base_url=server.http, timeout=10) as http,
        ):
            await receive(ws)
            before = (await http.get("/readyz")).json()
            delivered = []
            # One event per timer read, each waited for: that many unannounced reads in a row, and more.
            for number in range(1, UNANNOUNCED_READS + 3):
                assert (await http.post("/api/webhooks/jira", json=issue_event(number))).status_code == 200
                delivered += await receive_events(ws, 1)
            ready = await http.get("/readyz")
            metrics = await scrape(http)

    assert before["checks"]["notify"] == "ok"
    assert [event["data"]["jira_id"] for event in delivered] == [f"OPS-{n}" for n in range(1, UNANNOUNCED_READS + 3)]
    assert ready.status_code == 200
    assert ready.json()["status"] == "ready"
    assert ready.json()["checks"]["notify"] == "degraded"
    assert "Set DATABASE_LISTEN_URL to a direct connection" in ready.json()["warnings"]["notify"]
    assert metrics.value("ops_bridge_listener_notify_degraded") == 1.0
    warnings = [r for r in caplog.records if r.name == "app.fanout.doorbell" and r.levelno == logging.WARNING]
    assert len(warnings) == 1
    assert "no NOTIFY reaches the event listener" in warnings[0].getMessage()
    assert "DATABASE_LISTEN_URL" in warnings[0].getMessage()


async def test_notifications_that_arrive_keep_the_notify_check_ok_however_often_the_timer_reads(
    database_url: str, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    settings = make_settings(database_url, tmp_path, listener_poll_interval=0.02)
    with server_in_thread(settings) as server:
        async with (
            await open_stream(server.ws, token()) as ws,
            httpx.AsyncClient(base_url=server.http, timeout=10) as http,
        ):
            await receive(ws)
            for number in range(1, 21):
                assert (await http.post("/api/webhooks/jira", json=issue_event(number))).status_code == 200
                await receive_events(ws, 1)
            ready = await http.get("/readyz")

    assert ready.json()["checks"]["notify"] == "ok"
    assert "warnings" not in ready.json()
    assert not [r for r in caplog.records if r.name == "app.fanout.doorbell" and r.levelno >= logging.WARNING]


def test_a_notification_after_the_alarm_clears_it() -> None:
    doorbell = Doorbell(poll_interval=1.0)
    for _ in range(UNANNOUNCED_READS):
        doorbell.timer_read(found=1)
    alarmed = doorbell.degraded
    doorbell.rang()

    assert alarmed
    assert not doorbell.degraded
    assert REGISTRY.get_sample_value("ops_bridge_listener_notify_degraded") == 0


def test_timer_reads_that_find_nothing_or_are_interrupted_by_a_notification_raise_no_alarm() -> None:
    doorbell = Doorbell(poll_interval=1.0)
    for _ in range(UNANNOUNCED_READS * 3):
        doorbell.timer_read(found=0)
    for _ in range(3):
        for _ in range(UNANNOUNCED_READS - 1):
            doorbell.timer_read(found=5)
        doorbell.rang()

    assert not doorbell.degraded
