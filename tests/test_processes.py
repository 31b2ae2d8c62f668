"""Several app processes on one database: every process sees every event."""

from __future__ import annotations

import httpx

from tests.conftest import JWT_SECRET, token
from tests.support.clients import open_stream, receive, receive_events
from tests.support.jira import issue_event
from tests.support.server import server_process


async def test_a_webhook_posted_to_one_process_reaches_subscribers_of_both(database_url: str) -> None:
    env = {"DATABASE_URL": database_url, "JWT_SECRET": JWT_SECRET, "LISTENER_POLL_INTERVAL": "5"}
    with server_process(env) as first, server_process(env) as second:
        async with (
            await open_stream(first.ws, token(sub="on-first")) as on_first,
            await open_stream(second.ws, token(sub="on-second")) as on_second,
        ):
            await receive(on_first)
            await receive(on_second)
            async with httpx.AsyncClient() as http:
                response = await http.post(f"{first.http}/api/webhooks/jira", json=issue_event(7))
            [seen_by_first] = await receive_events(on_first, 1)
            [seen_by_second] = await receive_events(on_second, 1)

    assert response.status_code == 200
    assert seen_by_first == seen_by_second
    assert seen_by_second["data"]["jira_id"] == "OPS-7"
