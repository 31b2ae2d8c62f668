"""The listener survives losing its connection and misses nothing meanwhile."""

from __future__ import annotations

import httpx
import psycopg

from tests.conftest import token
from tests.support.clients import open_stream, receive, receive_events
from tests.support.jira import issue_event
from tests.support.server import RunningServer


def _kill_listener(database_url: str) -> int:
    with psycopg.connect(database_url, autocommit=True) as conn:
        rows = conn.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = 'ops-bridge-listener'"
        ).fetchall()
    return len(rows)


async def test_events_committed_while_the_listener_is_down_are_delivered_after_it_reconnects(
    server: RunningServer, http: httpx.AsyncClient, database_url: str
) -> None:
    async with await open_stream(server.ws, token()) as ws:
        await receive(ws)
        assert _kill_listener(database_url) == 1
        for number in range(1, 6):
            assert (await http.post("/api/webhooks/jira", json=issue_event(number))).status_code == 200
        events = await receive_events(ws, 5)

    assert [e["data"]["jira_id"] for e in events] == [f"OPS-{n}" for n in range(1, 6)]
