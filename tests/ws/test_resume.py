"""Resuming with the last id seen: every missed event, once, in order, then live ones."""

from __future__ import annotations

import asyncio
from pathlib import Path

import httpx

from tests.conftest import make_settings, token
from tests.support.clients import expect_silence, open_stream, receive, receive_events
from tests.support.jira import issue_event
from tests.support.server import RunningServer, server_in_thread


async def _post(http: httpx.AsyncClient, numbers: range) -> None:
    for number in numbers:
        response = await http.post("/api/webhooks/jira", json=issue_event(number))
        assert response.status_code == 200


async def _resume_exactly(server: RunningServer, http: httpx.AsyncClient) -> None:
    async with await open_stream(server.ws, token()) as ws:
        await receive(ws)
        await _post(http, range(1, 3))
        first = await receive_events(ws, 2)
    last_seen = first[-1]["id"]

    await _post(http, range(3, 8))

    async with await open_stream(f"{server.ws}?last_event_id={last_seen}", token()) as ws:
        hello = await receive(ws)
        missed = await receive_events(ws, 5)
        await _post(http, range(8, 9))
        [live] = await receive_events(ws, 1)
        assert await expect_silence(ws) == []

    assert hello["data"]["resume"] == {"from": last_seen, "complete": True}
    assert [m["data"]["jira_id"] for m in missed] == [f"OPS-{n}" for n in range(3, 8)]
    assert [m["id"] for m in missed] == list(range(last_seen + 1, last_seen + 6))
    assert live["id"] == last_seen + 6


async def test_resume_delivers_exactly_the_missed_events_then_live_ones(
    server: RunningServer, http: httpx.AsyncClient
) -> None:
    await _resume_exactly(server, http)


async def test_resume_reads_the_log_when_the_replay_buffer_no_longer_holds_the_gap(
    database_url: str, tmp_path: Path
) -> None:
    with server_in_thread(make_settings(database_url, tmp_path, replay_buffer_events=2)) as running:
        async with httpx.AsyncClient(base_url=running.http) as http:
            await _resume_exactly(running, http)


async def test_resume_while_events_keep_coming_has_no_gap_and_no_duplicate_at_the_seam(
    server: RunningServer, http: httpx.AsyncClient
) -> None:
    await _post(http, range(1, 41))

    async def keep_posting() -> None:
        await _post(http, range(41, 81))

    async with await open_stream(f"{server.ws}?last_event_id=0", token()) as ws:
        await receive(ws)
        posting = asyncio.create_task(keep_posting())
        received = await receive_events(ws, 80, timeout=30)
        await posting
        assert await expect_silence(ws) == []

    assert [m["id"] for m in received] == list(range(1, 81))


async def test_resume_replays_only_what_the_subscriber_may_see(server: RunningServer, http: httpx.AsyncClient) -> None:
    for number, project in enumerate(["OPS", "PAY", "OPS", "PAY"], start=1):
        await http.post("/api/webhooks/jira", json=issue_event(number, project=project))

    async with await open_stream(f"{server.ws}?last_event_id=0", token(squads=("ops",))) as ws:
        await receive(ws)
        replayed = await receive_events(ws, 2)
        assert await expect_silence(ws) == []

    assert [m["data"]["squad"] for m in replayed] == ["ops", "ops"]


async def test_a_resume_position_ahead_of_the_log_is_reported_and_the_stream_starts_now(
    server: RunningServer, http: httpx.AsyncClient
) -> None:
    async with await open_stream(f"{server.ws}?last_event_id=500", token()) as ws:
        warning = await receive(ws)
        hello = await receive(ws)
        await _post(http, range(1, 2))
        [event] = await receive_events(ws, 1)

    assert warning["type"] == "error"
    assert warning["data"]["code"] == "RESUME_POSITION_UNKNOWN"
    assert hello["data"]["resume"] is None
    assert event["id"] == 1
