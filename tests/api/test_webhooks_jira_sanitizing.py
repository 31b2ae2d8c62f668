"""User text from Jira reaches subscribers as plain, bounded text."""

from __future__ import annotations

import json
import re

import httpx

from tests.conftest import token
from tests.support.clients import open_stream, receive
from tests.support.deliveries import post_fixture, rows
from tests.support.server import RunningServer

MESSAGE_LIMIT = 10 * 1024
MARKER = "… [truncated]"
# Anything a browser could take for markup, a script or a handler.
_ACTIVE = re.compile(r"<|>|\bscript\b|javascript:|onerror|onload|iframe|&lt;|&gt;|&amp;", re.IGNORECASE)


async def _raw_event(ws: object) -> str:
    """The next event frame exactly as it crossed the wire."""
    while True:
        raw = await ws.recv()  # type: ignore[attr-defined]
        if '"id":' in raw[:20]:
            assert isinstance(raw, str)
            return raw


async def test_markup_and_script_in_summary_description_and_names_never_reach_a_subscriber(
    server: RunningServer, http: httpx.AsyncClient, database_url: str
) -> None:
    async with await open_stream(server.ws, token()) as ws:
        await receive(ws)
        response = await post_fixture(http, "jira_cloud/issue_created_markup_and_script_in_text.json")
        raw = await _raw_event(ws)

    assert response.status_code == 200
    assert _ACTIVE.findall(raw) == []
    assert not re.search(r"[\x00-\x08\x0b\x0c\x0e-\x1f]", json.loads(raw)["data"]["description"])
    data = json.loads(raw)["data"]
    assert data["title"] == "Checkout down now"
    assert data["assignee"] == "Priya Raman"
    assert data["description"].startswith("Runbook\n")
    assert data["description"].endswith("still bold end")
    # What is stored is what was sent: clean before it is written.
    [(title, description)] = rows(database_url, "SELECT title, description FROM incidents")
    assert (title, description) == (data["title"], data["description"])


async def test_a_huge_summary_and_description_still_make_a_message_under_10_kb_with_the_marker(
    server: RunningServer, http: httpx.AsyncClient
) -> None:
    async with await open_stream(server.ws, token()) as ws:
        await receive(ws)
        response = await post_fixture(http, "jira_cloud/issue_created_huge_summary_and_description.json")
        raw = await _raw_event(ws)

    assert response.status_code == 200
    assert len(raw.encode()) < MESSAGE_LIMIT
    data = json.loads(raw)["data"]
    assert data["title"].endswith(MARKER)
    assert data["title"].startswith('Stack "trace" from checkout ☃')
    assert data["description"].endswith(MARKER)
    assert data["description"].startswith('"quoted" line \\ with backslash ☃ ünïcödé\n')
