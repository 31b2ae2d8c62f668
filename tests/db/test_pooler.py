"""Behind PgBouncer in transaction mode (how most managed PostgreSQL is offered):
the service migrates and serves through it, with only its LISTEN connection
direct (DATABASE_LISTEN_URL), and events arrive as they commit, announced by
NOTIFY rather than found by the listener's timer."""

from __future__ import annotations

import asyncio
from pathlib import Path

import httpx

from app.db.migrate import upgrade
from tests.conftest import make_settings, token
from tests.support.api import bearer
from tests.support.clients import fixture_bytes, open_stream, receive, receive_events
from tests.support.deliveries import fixture_headers
from tests.support.jira import issue_event
from tests.support.pgbouncer import Pooler
from tests.support.server import server_in_thread

ALERTMANAGER = "alertmanager/firing_group_three_alerts.json"
ISSUES = 30
# Far longer than the test waits for any event: only NOTIFY can bring them in time.
NO_TIMER = 600.0


async def test_the_service_migrates_and_serves_through_a_transaction_pooler_with_a_direct_listen_url(
    pooler: Pooler, empty_database: str, tmp_path: Path
) -> None:
    pooled = pooler.url(empty_database)
    upgrade(pooled)
    settings = make_settings(
        pooled, tmp_path, database_listen_url=empty_database, listener_poll_interval=NO_TIMER, database_pool_size=4
    )
    with server_in_thread(settings) as server:
        async with (
            await open_stream(server.ws, token(roles=("admin",), squads=(), environments=())) as ws,
            httpx.AsyncClient(base_url=server.http, timeout=10) as http,
        ):
            await receive(ws)
            # Concurrent and repeated: statements psycopg would prepare, on several server connections.
            answers = await asyncio.gather(
                *(http.post("/api/webhooks/jira", json=issue_event(n)) for n in range(1, ISSUES + 1)),
                *(http.get("/api/incidents", headers=bearer()) for _ in range(20)),
                http.post("/api/webhooks/alertmanager", content=fixture_bytes(ALERTMANAGER),
                          headers=fixture_headers(ALERTMANAGER)),
            )  # fmt: skip
            events = await receive_events(ws, ISSUES + 3)
            ready = await http.get("/readyz")

    assert [answer.status_code for answer in answers] == [200] * len(answers)
    assert sorted(e["data"]["jira_id"] for e in events if e["type"] == "incident") == sorted(
        f"OPS-{n}" for n in range(1, ISSUES + 1)
    )
    assert ready.status_code == 200
    assert ready.json()["checks"] == {"database": "ok", "schema": "ok", "listener": "ok", "notify": "ok"}
