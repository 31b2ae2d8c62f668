"""GET /api/events, and the rule HTTP and the socket share: a caller reads exactly
what it would receive as messages."""

from __future__ import annotations

from typing import Any

import httpx

from tests.conftest import token
from tests.support.api import PUBLISHER, asset, bearer
from tests.support.clients import expect_silence, open_stream, receive, receive_events
from tests.support.jira import issue_event
from tests.support.server import RunningServer

# Who is asking: (claims for the token, what it should see of the seeded events).
CALLERS: dict[str, dict[str, Any]] = {
    "ops viewer": {"sub": "o", "squads": ("ops",), "environments": ()},
    "staging viewer": {"sub": "s", "squads": (), "environments": ("staging",)},
    "ana, no grants": {"sub": "ana", "email": "Ana@Example.com", "squads": (), "environments": ()},
    "nobody": {"sub": "n", "squads": (), "environments": ()},
    "everything": {"sub": "e"},
    "admin": {"sub": "root", "roles": ("admin",), "squads": (), "environments": ()},
}


async def _seed(http: httpx.AsyncClient) -> None:
    await http.post("/api/webhooks/jira", json=issue_event(1, project="OPS"))
    await http.post("/api/webhooks/jira", json=issue_event(2, project="SEC", issue_type="Task"))
    await http.post("/api/assets", json=asset(id="prod"), headers=PUBLISHER)
    await http.post("/api/assets", json=asset(id="stage", environment="staging"), headers=PUBLISHER)
    await http.patch("/api/assets/stage", json={"environment": "production"}, headers=PUBLISHER)
    note = {"title": "t", "message": "m"}
    await http.post("/api/notifications", json=note, headers=PUBLISHER)
    await http.post("/api/notifications", json={**note, "to": ["ana@example.com"]}, headers=PUBLISHER)
    await http.post("/api/notifications", json={**note, "to": ["someone-else"]}, headers=PUBLISHER)


async def test_every_caller_reads_over_http_exactly_the_messages_the_socket_sends_it(
    server: RunningServer, http: httpx.AsyncClient
) -> None:
    await _seed(http)
    seen: dict[str, list[str]] = {}
    for name, claims in CALLERS.items():
        over_http = (await http.get("/api/events", headers=bearer(**claims))).json()["events"]
        async with await open_stream(server.ws + "?last_event_id=0", token(**claims)) as ws:
            await receive(ws)
            over_socket = await receive_events(ws, len(over_http))
            assert await expect_silence(ws) == [], name
        assert over_http == over_socket, name
        seen[name] = [f"{m['type']}:{m['action']}:{m['data']['id']}" for m in over_http]

    notifications = [s for s in seen["admin"] if s.startswith("notification")]
    assert seen["ops viewer"] == ["incident:created:inc-10001", notifications[0]]
    assert seen["staging viewer"] == [
        "asset:created:stage", "asset:deleted:stage", notifications[0],
    ]  # fmt: skip
    assert seen["ana, no grants"] == notifications[:2]
    assert seen["everything"][-1] == notifications[0]
    assert seen["nobody"] == notifications[:1]
    assert len(seen["everything"]) == 7  # all but the two addressed notifications
    assert len(seen["admin"]) == 9


async def test_every_caller_lists_exactly_the_rows_whose_messages_it_receives(http: httpx.AsyncClient) -> None:
    await _seed(http)
    for name, claims in CALLERS.items():
        headers = bearer(**claims)
        messages = (await http.get("/api/events", headers=headers)).json()["events"]
        for topic, path in (("incident", "/api/incidents"), ("task", "/api/tasks"), ("asset", "/api/assets")):
            alive: dict[str, bool] = {}
            for message in messages:
                if message["type"] == topic:
                    alive[message["data"]["id"]] = message["action"] != "deleted"
            listed = [item["id"] for item in (await http.get(path, headers=headers)).json()["items"]]
            # A row moved out of the caller's sight was announced as deleted to it.
            assert sorted(listed) == sorted(row for row, present in alive.items() if present), (name, topic)


async def test_paging_the_log_walks_it_once_and_moves_past_what_the_caller_cannot_see(
    http: httpx.AsyncClient,
) -> None:
    await _seed(http)
    everyone = bearer(sub="e")
    full = (await http.get("/api/events", headers=everyone)).json()
    walked: list[int] = []
    after = 0
    while True:
        page = (await http.get("/api/events", params={"after": after, "limit": 3}, headers=everyone)).json()
        walked += [event["id"] for event in page["events"]]
        if page["next_after"] == after:
            break
        after = page["next_after"]
    blind = (await http.get("/api/events", params={"type": "task"}, headers=bearer(squads=(), environments=()))).json()

    assert walked == [event["id"] for event in full["events"]]
    assert full["next_after"] == 9  # the newest position, though the last one is not for this caller
    assert blind == {"events": [], "next_after": 9, "complete": True}


async def test_the_type_filter_and_positions_ahead_of_the_log(http: httpx.AsyncClient) -> None:
    await _seed(http)

    assets_only = (await http.get("/api/events", params={"type": "asset,incident"}, headers=bearer())).json()
    ahead = await http.get("/api/events", params={"after": 10}, headers=bearer())
    at_end = await http.get("/api/events", params={"after": 9}, headers=bearer())
    negative = await http.get("/api/events", params={"after": -1}, headers=bearer())

    assert [e["type"] for e in assets_only["events"]] == ["incident", "asset", "asset", "asset", "asset"]
    assert (ahead.status_code, ahead.json()["error"]["code"]) == (409, "RESUME_POSITION_UNKNOWN")
    assert at_end.json() == {"events": [], "next_after": 9, "complete": True}
    assert negative.status_code == 422
