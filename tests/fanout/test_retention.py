"""Event-log retention, and what a client resuming from before it is told."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import httpx
import psycopg

from app.db.engine import create_engine
from app.ingest.transaction import write
from app.store.event_retention import purge
from tests.conftest import make_settings, token
from tests.support.clients import open_stream, receive, receive_events
from tests.support.jira import issue_event
from tests.support.server import server_in_thread


def _age(database_url: str, positions: list[int]) -> None:
    with psycopg.connect(database_url, autocommit=True) as conn:
        conn.execute("UPDATE events SET created_at = now() - interval '10 days' WHERE position = ANY(%s)", [positions])


def _insert(database_url: str, count: int) -> None:
    with psycopg.connect(database_url, autocommit=True) as conn:
        for _ in range(count):
            conn.execute("""INSERT INTO events (topic, action, message) VALUES ('task', 'created', '{"n":1}')""")


async def _purge(database_url: str) -> int:
    engine = create_engine(database_url)
    try:
        async with write(engine) as conn:
            return await purge(conn, timedelta(days=7))
    finally:
        await engine.dispose()


async def test_purge_removes_the_oldest_events_as_a_prefix_and_records_how_far(database_url: str) -> None:
    _insert(database_url, 5)
    # Position 5 is old too, but 4 is not: the purge stops at the first kept event.
    _age(database_url, [1, 2, 3, 5])

    purged = await _purge(database_url)

    with psycopg.connect(database_url) as conn:
        kept = [row[0] for row in conn.execute("SELECT position FROM events ORDER BY position")]
        state = conn.execute("SELECT purged_through FROM event_log_state").fetchone()
    assert purged == 3
    assert kept == [4, 5]
    assert state == (3,)


async def test_purging_nothing_keeps_the_recorded_point(database_url: str) -> None:
    _insert(database_url, 2)
    _age(database_url, [1])
    assert await _purge(database_url) == 1
    assert await _purge(database_url) == 1


async def test_a_client_resuming_from_before_the_purge_point_is_told_to_refetch_then_gets_what_is_kept(
    database_url: str, tmp_path: Path
) -> None:
    settings = make_settings(database_url, tmp_path, replay_buffer_events=1)
    with server_in_thread(settings) as running:
        async with httpx.AsyncClient(base_url=running.http) as http:
            for number in range(1, 5):
                await http.post("/api/webhooks/jira", json=issue_event(number))
        _age(database_url, [1, 2])
        assert await _purge(database_url) == 2
        async with await open_stream(f"{running.ws}?last_event_id=1", token()) as ws:
            warning = await receive(ws)
            hello = await receive(ws)
            replayed = await receive_events(ws, 2)

    assert warning["type"] == "error"
    assert warning["data"]["code"] == "RESUME_TOO_OLD"
    assert hello["data"]["resume"] == {"from": 1, "complete": False, "replay_from": 2}
    assert [event["id"] for event in replayed] == [3, 4]


async def test_polling_from_before_the_purge_point_says_the_page_is_incomplete(
    database_url: str, tmp_path: Path
) -> None:
    with server_in_thread(make_settings(database_url, tmp_path)) as running:
        async with httpx.AsyncClient(base_url=running.http) as http:
            for number in range(1, 5):
                await http.post("/api/webhooks/jira", json=issue_event(number))
            _age(database_url, [1, 2])
            assert await _purge(database_url) == 2
            headers = {"Authorization": f"Bearer {token()}"}
            stale = (await http.get("/api/events", params={"after": 1}, headers=headers)).json()
            fresh = (await http.get("/api/events", params={"after": 2}, headers=headers)).json()

    assert stale["complete"] is False
    assert [event["id"] for event in stale["events"]] == [3, 4]
    assert fresh["complete"] is True
    assert [event["id"] for event in fresh["events"]] == [3, 4]
