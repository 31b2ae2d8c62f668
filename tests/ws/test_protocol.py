"""Client requests over the socket: each gets an answer, and filters hold."""

from __future__ import annotations

import json

import httpx
import pytest

from tests.conftest import token
from tests.support.clients import expect_silence, open_stream, receive, receive_events
from tests.support.jira import issue_event
from tests.support.server import RunningServer


async def _request(ws: object, message: dict[str, object] | str) -> dict[str, object]:
    await ws.send(message if isinstance(message, str) else json.dumps(message))  # type: ignore[attr-defined]
    return await receive(ws)  # type: ignore[arg-type]


async def test_ping_gets_a_pong_with_a_timestamp(server: RunningServer) -> None:
    async with await open_stream(server.ws, token()) as ws:
        await receive(ws)
        pong = await _request(ws, {"action": "ping", "id": "p-1"})

    assert pong["action"] == "pong"
    assert str(pong["timestamp"]).endswith("Z")
    assert pong["data"] == {"original_message_id": "p-1"}


@pytest.mark.parametrize(
    ("message", "code"),
    [
        ("not json", "INVALID_MESSAGE"),
        ("[1, 2]", "INVALID_MESSAGE"),
        ({"id": "m-1"}, "INVALID_MESSAGE"),
        ({"id": "m-1", "action": "dance"}, "UNKNOWN_ACTION"),
        ({"id": "m-1", "action": "subscribe", "topics": ["weather"]}, "UNKNOWN_TOPIC"),
        ({"id": "m-1", "action": "subscribe", "topics": "incidents", "filters": {"colour": "red"}}, "INVALID_MESSAGE"),
        ({"id": "m-1", "action": "subscribe", "topics": [1, 2]}, "INVALID_MESSAGE"),
        ({"id": "m-1", "action": "unsubscribe"}, "INVALID_MESSAGE"),
    ],
)
async def test_a_bad_request_gets_an_error_with_a_stable_code(
    server: RunningServer, message: dict[str, object] | str, code: str
) -> None:
    async with await open_stream(server.ws, token()) as ws:
        await receive(ws)
        error = await _request(ws, message)
        # The connection survives its client's mistakes.
        assert (await _request(ws, {"action": "ping"}))["action"] == "pong"

    assert error["type"] == "error"
    assert error["action"] == "created"
    assert error["data"]["code"] == code  # type: ignore[index]
    if isinstance(message, dict) and "id" in message:
        assert error["data"]["original_message_id"] == "m-1"  # type: ignore[index]


@pytest.mark.parametrize("request_id", [False, True, None, 1.5, ["a"], {"a": 1}])
async def test_an_id_that_is_not_a_string_or_integer_is_not_echoed_and_the_connection_survives(
    server: RunningServer, request_id: object
) -> None:
    async with await open_stream(server.ws, token()) as ws:
        await receive(ws)
        error = await _request(ws, {"id": request_id, "action": "dance"})
        assert (await _request(ws, {"action": "ping"}))["action"] == "pong"

    assert error["data"]["code"] == "UNKNOWN_ACTION"  # type: ignore[index]
    assert error["data"]["original_message_id"] is None  # type: ignore[index]


async def test_subscribe_narrows_to_topics_and_filters_and_is_acknowledged_with_a_position(
    server: RunningServer, http: httpx.AsyncClient
) -> None:
    async with await open_stream(server.ws, token()) as ws:
        await receive(ws)
        ack = await _request(
            ws, {"id": "s-1", "action": "subscribe", "topics": ["incidents"], "filters": {"squad": "ops"}}
        )
        await http.post("/api/webhooks/jira", json=issue_event(1, issue_type="Task"))
        await http.post("/api/webhooks/jira", json=issue_event(2, project="PAY"))
        await http.post("/api/webhooks/jira", json=issue_event(3))
        [event] = await receive_events(ws, 1)
        assert await expect_silence(ws) == []

    assert ack["type"] == "ack"
    assert ack["action"] == "subscribe"
    assert ack["data"] == {"original_message_id": "s-1", "topics": {"incident": {"squad": ["ops"]}}, "position": 0}
    assert event["data"]["jira_id"] == "OPS-3"


async def test_singular_topic_names_work_and_unsubscribe_removes(
    server: RunningServer, http: httpx.AsyncClient
) -> None:
    async with await open_stream(server.ws, token()) as ws:
        await receive(ws)
        await _request(ws, {"action": "subscribe", "topics": ["incident", "task"]})
        ack = await _request(ws, {"action": "unsubscribe", "topics": ["incidents"]})
        await http.post("/api/webhooks/jira", json=issue_event(1))
        await http.post("/api/webhooks/jira", json=issue_event(2, issue_type="Task"))
        [event] = await receive_events(ws, 1)
        assert await expect_silence(ws) == []

    assert ack["data"]["topics"] == {"task": {}}  # type: ignore[index]
    assert event["type"] == "task"


async def test_a_filter_beyond_the_tokens_claims_is_forbidden(server: RunningServer) -> None:
    async with await open_stream(server.ws, token(squads=("ops",), environments=("staging",))) as ws:
        await receive(ws)
        squad = await _request(ws, {"id": 1, "action": "subscribe", "topics": "incidents", "filters": {"squad": "pay"}})
        env = await _request(
            ws, {"id": 2, "action": "subscribe", "topics": "alerts", "filters": {"environment": "production"}}
        )
        allowed = await _request(
            ws, {"id": 3, "action": "subscribe", "topics": "incidents", "filters": {"squad": "ops"}}
        )

    assert squad["data"]["code"] == "FORBIDDEN"  # type: ignore[index]
    assert squad["data"]["original_message_id"] == 1  # type: ignore[index]
    assert env["data"]["code"] == "FORBIDDEN"  # type: ignore[index]
    assert allowed["type"] == "ack"


async def test_a_viewer_of_one_squad_never_receives_another_squads_events(
    server: RunningServer, http: httpx.AsyncClient
) -> None:
    async with (
        await open_stream(server.ws, token(squads=("ops",), environments=())) as ops,
        await open_stream(server.ws, token(squads=("pay",), environments=())) as pay,
        await open_stream(server.ws, token(roles=("admin",), squads=(), environments=())) as admin,
    ):
        for ws in (ops, pay, admin):
            await receive(ws)
        await http.post("/api/webhooks/jira", json=issue_event(1, project="OPS"))
        await http.post("/api/webhooks/jira", json=issue_event(2, project="PAY"))
        ops_events = await receive_events(ops, 1)
        pay_events = await receive_events(pay, 1)
        admin_events = await receive_events(admin, 2)
        assert await expect_silence(ops) == []
        assert await expect_silence(pay) == []

    assert [e["data"]["squad"] for e in ops_events] == ["ops"]
    assert [e["data"]["squad"] for e in pay_events] == ["pay"]
    assert [e["data"]["squad"] for e in admin_events] == ["ops", "pay"]


async def test_resume_from_in_the_first_subscribe_replays_from_there(
    server: RunningServer, http: httpx.AsyncClient
) -> None:
    for number in (1, 2, 3):
        await http.post("/api/webhooks/jira", json=issue_event(number))
    # Until the hub has published all three, a new connection would be handed
    # the late ones live, before its subscribe arrives.
    async with await open_stream(f"{server.ws}?last_event_id=0", token(sub="witness")) as witness:
        await receive_events(witness, 3)
    async with await open_stream(server.ws, token()) as ws:
        await receive(ws)
        ack = await _request(ws, {"action": "subscribe", "topics": ["incidents"], "resume_from": 1})
        replayed = await receive_events(ws, 2)
        late = await _request(ws, {"id": "r", "action": "subscribe", "topics": ["tasks"], "resume_from": 0})

    assert ack["type"] == "ack"
    assert [e["id"] for e in replayed] == [2, 3]
    assert late["data"]["code"] == "RESUME_NOT_ALLOWED"  # type: ignore[index]
