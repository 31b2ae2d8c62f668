"""POST /api/metrics: samples kept, published at most once a second per metric and
environment with the latest value, the last value of a burst never lost."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from itertools import pairwise
from pathlib import Path
from typing import Any

import httpx
import pytest

from app.db.engine import create_engine
from app.ingest.transaction import write
from app.store.metric_samples import delete_expired_samples
from tests.conftest import make_settings, token
from tests.support.alerts import count, rows
from tests.support.clients import expect_silence, open_stream, receive, receive_events, receive_until
from tests.support.server import RunningServer, server_in_thread

MACHINE = "metrics-machine-token"


def _at(message: dict[str, Any]) -> datetime:
    return datetime.fromisoformat(message["timestamp"].replace("Z", "+00:00"))


async def _burst_until_three_messages(
    clients: list[httpx.AsyncClient], ws: Any, metric: str
) -> tuple[list[dict[str, Any]], int]:
    """Post rising values (round robin over `clients`) until three messages have come; then
    wait for the message of the last value posted. Returns the messages and that value."""
    seen: list[dict[str, Any]] = []
    stop = asyncio.Event()

    async def produce() -> int:
        value = 0
        for value in range(3000):  # bounded: ends by itself
            client = clients[value % len(clients)]
            response = await client.post(
                "/api/metrics", json={"metric_name": metric, "value": value, "environment": "prod"}
            )
            assert response.status_code == 200, response.text
            if stop.is_set():
                break
        return value

    producer = asyncio.create_task(produce())
    while len(seen) < 3:
        seen.extend(await receive_events(ws, 1, timeout=15))
    stop.set()
    last = await producer
    if seen[-1]["data"]["value"] != last:
        seen.append(await receive_until(ws, lambda m: m.get("data", {}).get("value") == last, timeout=15))
    return seen, last


async def test_a_burst_goes_out_once_a_second_and_ends_on_its_last_value(
    server: RunningServer, http: httpx.AsyncClient, database_url: str
) -> None:
    async with await open_stream(server.ws, token()) as ws:
        await receive(ws)
        messages, last = await _burst_until_three_messages([http], ws, "requests_per_second")
        assert await expect_silence(ws) == []

    values = [m["data"]["value"] for m in messages]
    assert values[0] == 0  # the leading edge goes out at once
    assert values[-1] == last  # the trailing edge: the burst's last value
    assert values == sorted(values)
    gaps = [(_at(b) - _at(a)).total_seconds() for a, b in pairwise(messages)]
    assert min(gaps) >= 0.999, gaps
    assert len(messages) < last  # coalesced: far fewer messages than samples
    assert count(database_url, "metric_samples") == last + 1  # every sample kept


async def test_two_processes_share_the_one_a_second_rule(
    server: RunningServer, http: httpx.AsyncClient, settings: Any
) -> None:
    with server_in_thread(settings) as other:
        async with (
            httpx.AsyncClient(base_url=other.http, timeout=10) as second,
            await open_stream(server.ws, token()) as ws,
        ):
            await receive(ws)
            messages, last = await _burst_until_three_messages([http, second], ws, "checkout_rps")
            assert await expect_silence(ws) == []

    gaps = [(_at(b) - _at(a)).total_seconds() for a, b in pairwise(messages)]
    assert min(gaps) >= 0.999, gaps
    assert messages[-1]["data"]["value"] == last


async def test_each_metric_and_environment_has_its_own_second(server: RunningServer, http: httpx.AsyncClient) -> None:
    async with await open_stream(server.ws, token()) as ws:
        await receive(ws)
        for body in (
            {"metric_name": "cpu", "value": 1, "environment": "prod"},
            {"metric_name": "cpu", "value": 2, "environment": "staging"},
            {"metric_name": "mem", "value": 3, "environment": "prod", "unit": "percent", "metadata": {"host": "a"}},
        ):
            assert (await http.post("/api/metrics", json=body)).status_code == 200
        messages = await receive_events(ws, 3)

    assert [(m["data"]["metric_name"], m["data"]["environment"]) for m in messages] == [
        ("cpu", "production"),
        ("cpu", "staging"),
        ("mem", "production"),
    ]
    assert messages[2]["data"]["unit"] == "percent"
    assert messages[2]["data"]["metadata"] == {"host": "a"}
    assert (messages[0]["type"], messages[0]["action"]) == ("metric", "updated")


async def test_markup_in_metadata_is_made_plain_before_it_is_stored_or_sent(
    server: RunningServer, http: httpx.AsyncClient, database_url: str
) -> None:
    metadata = {"<b>host</b>": "<script>alert(1)</script>web-01", "tags": ["<img src=x onerror=alert(1)>ok"]}
    async with await open_stream(server.ws, token()) as ws:
        await receive(ws)
        posted = await http.post("/api/metrics", json={"metric_name": "cpu", "value": 1, "metadata": metadata})
        [message] = await receive_events(ws, 1)

    assert posted.status_code == 200
    assert message["data"]["metadata"] == {"host": "web-01", "tags": ["ok"]}
    assert rows(database_url, "SELECT metadata FROM metric_samples") == [({"host": "web-01", "tags": ["ok"]},)]


async def test_a_sample_older_than_the_value_shown_does_not_replace_it(
    server: RunningServer, http: httpx.AsyncClient, database_url: str
) -> None:
    now = datetime.now(UTC)
    older = (now - timedelta(hours=1)).isoformat()
    async with await open_stream(server.ws, token()) as ws:
        await receive(ws)
        await http.post("/api/metrics", json={"metric_name": "lag", "value": 5, "timestamp": now.isoformat()})
        late = await http.post("/api/metrics", json={"metric_name": "lag", "value": 1, "timestamp": older})
        [message] = await receive_events(ws, 1)
        assert await expect_silence(ws) == []

    assert late.json() == {"status": "stored", "samples": 1, "published": 0}
    assert message["data"]["value"] == 5
    assert "environment" not in message["data"]
    assert rows(database_url, "SELECT value, pending FROM metric_latest") == [(5.0, False)]


async def test_samples_older_than_the_retention_are_deleted(
    server: RunningServer, http: httpx.AsyncClient, database_url: str
) -> None:
    old = (datetime.now(UTC) - timedelta(days=40)).isoformat()
    await http.post(
        "/api/metrics", json=[{"metric_name": "x", "value": 1, "timestamp": old}, {"metric_name": "x", "value": 2}]
    )
    engine = create_engine(database_url)
    try:
        async with write(engine) as conn:
            deleted = await delete_expired_samples(conn, older_than=datetime.now(UTC) - timedelta(days=30))
    finally:
        await engine.dispose()

    assert deleted == 1
    assert rows(database_url, "SELECT value FROM metric_samples") == [(2.0,)]


@pytest.mark.parametrize(
    ("body", "status", "problem"),
    [
        (b'{"metric_name": "x", "value": 1', 400, "not valid JSON"),
        (b'{"value": 1}', 422, "metric_name"),
        (b'{"metric_name": "x", "value": "high"}', 422, "value"),
        (b'{"metric_name": "x", "value": true}', 422, "value"),
        (b'{"metric_name": "x", "value": 1, "colour": "red"}', 422, "colour"),
        (b"[]", 422, "at least 1"),
        (b'[{"metric_name": "x", "value": 1}, {"metric_name": "", "value": 1}]', 422, "1.metric_name"),
        (b'{"metric_name": "x", "value": 1, "timestamp": "soon"}', 422, "timestamp"),
        # jsonb cannot hold U+0000: a 422 naming it, not the database's 500.
        (b'{"metric_name": "x", "value": 1, "metadata": {"note": "a\\u0000b"}}', 422, "U+0000"),
        (b'{"metric_name": "x", "value": 1e999}', 400, "infinity"),
    ],
)
async def test_bad_samples_get_a_4xx_naming_the_problem_and_store_nothing(
    server: RunningServer, http: httpx.AsyncClient, database_url: str, body: bytes, status: int, problem: str
) -> None:
    response = await http.post("/api/metrics", content=body)

    assert response.status_code == status, response.text
    assert problem in str(response.json()["error"]), response.json()
    assert count(database_url, "metric_samples") + count(database_url, "events") == 0


@pytest.fixture
async def guarded(database_url: str, tmp_path: Path) -> AsyncIterator[httpx.AsyncClient]:
    settings = make_settings(database_url, tmp_path, alert_webhook_token=MACHINE)
    with server_in_thread(settings) as running:
        async with httpx.AsyncClient(base_url=running.http) as client:
            yield client


async def test_publishers_and_machines_with_the_token_may_post_and_no_one_else(
    guarded: httpx.AsyncClient, database_url: str
) -> None:
    sample = {"metric_name": "x", "value": 1, "environment": "staging"}

    def auth(credential: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {credential}"}

    anonymous = await guarded.post("/api/metrics", json=sample)
    viewer = await guarded.post("/api/metrics", json=sample, headers=auth(token(roles=("viewer",))))
    wrong = await guarded.post("/api/metrics", json=sample, headers=auth("not-the-token"))
    other_env = await guarded.post(
        "/api/metrics", json=sample, headers=auth(token(roles=("publisher",), environments=("production",)))
    )
    publisher = await guarded.post(
        "/api/metrics", json=sample, headers=auth(token(roles=("publisher",), environments=("staging",)))
    )
    machine = await guarded.post("/api/metrics", json=sample, headers=auth(MACHINE))

    assert [r.status_code for r in (anonymous, viewer, wrong, other_env)] == [401, 403, 401, 403]
    assert (publisher.status_code, machine.status_code) == (200, 200)
    assert count(database_url, "metric_samples") == 2
