"""A publisher's notification over the socket: stored, and delivered like any other."""

from __future__ import annotations

import json
from typing import Any

import psycopg
import pytest
from websockets.asyncio.client import ClientConnection

from app.config import Settings
from tests.conftest import token
from tests.support.clients import expect_silence, open_stream, receive, receive_events, receive_until
from tests.support.database import PgServer
from tests.support.outages import read_only, unreachable
from tests.support.server import RunningServer, server_in_thread


def _notification(**overrides: Any) -> dict[str, Any]:
    message: dict[str, Any] = {
        "id": "n-1",
        "type": "notification",
        "action": "created",
        "data": {"title": "Deploy at 14:00", "message": "Checkout <b>freeze</b>", "type": "info", "priority": "normal"},
        "timestamp": "2025-01-17T14:00:00Z",
    }
    message.update(overrides)
    return message


async def test_a_publishers_notification_reaches_everyone_and_is_stored(
    server: RunningServer, database_url: str
) -> None:
    async with (
        await open_stream(server.ws, token(sub="pub", roles=("publisher",))) as publisher,
        await open_stream(server.ws, token(sub="viewer", squads=(), environments=())) as viewer,
    ):
        await receive(publisher)
        await receive(viewer)
        await publisher.send(json.dumps(_notification(data={**_notification()["data"], "actionUrl": "/infra"})))
        ack = await receive_until(publisher, lambda m: m["type"] == "ack")
        [delivered] = await receive_events(viewer, 1)

    assert ack["data"]["original_message_id"] == "n-1"
    assert delivered["type"] == "notification"
    assert delivered["action"] == "created"
    assert delivered["data"] == {
        "id": ack["data"]["id"],
        "title": "Deploy at 14:00",
        "message": "Checkout freeze",
        "type": "info",
        "priority": "normal",
        "actionUrl": "/infra",
    }
    with psycopg.connect(database_url) as conn:
        assert conn.execute("SELECT sent_by, audience FROM notifications").fetchall() == [("pub", None)]


async def test_an_addressed_notification_reaches_only_its_addressees(server: RunningServer) -> None:
    async with (
        await open_stream(server.ws, token(sub="pub", roles=("publisher",))) as publisher,
        await open_stream(server.ws, token(sub="ana", email="Ana@Example.com")) as ana,
        await open_stream(server.ws, token(sub="bob")) as bob,
    ):
        for ws in (publisher, ana, bob):
            await receive(ws)
        await publisher.send(json.dumps(_notification(to=["ana@example.com"])))
        await receive_until(publisher, lambda m: m["type"] == "ack")
        [for_ana] = await receive_events(ana, 1)
        assert await expect_silence(bob) == []

    assert for_ana["data"]["title"] == "Deploy at 14:00"


@pytest.mark.parametrize(
    ("roles", "message", "code"),
    [
        (("viewer",), _notification(), "FORBIDDEN"),
        (("publisher",), _notification(type="incident"), "FORBIDDEN"),
        (("publisher",), _notification(data={"title": "x", "message": "y", "actionUrl": "javascript:alert(1)"}),
         "INVALID_MESSAGE"),
        (("publisher",), _notification(data={"title": "", "message": "y"}), "INVALID_MESSAGE"),
        (("publisher",), _notification(data={"title": "<script>x</script>", "message": "y"}), "INVALID_MESSAGE"),
    ],
)  # fmt: skip
async def test_what_may_not_be_published_gets_an_error_and_stores_nothing(
    server: RunningServer, database_url: str, roles: tuple[str, ...], message: dict[str, Any], code: str
) -> None:
    async with await open_stream(server.ws, token(roles=roles)) as ws:
        await receive(ws)
        await ws.send(json.dumps(message))
        error = await receive(ws)

    assert error["type"] == "error"
    assert error["data"]["code"] == code
    with psycopg.connect(database_url) as conn:
        assert conn.execute("SELECT count(*) FROM notifications").fetchone() == (0,)


async def _publish_answer(publisher: ClientConnection) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """A publisher's notification's answer, and what else the socket says after it (a ping's pong proves it open)."""
    await publisher.send(json.dumps(_notification()))
    answer = await receive(publisher)
    return answer, await expect_silence(publisher)


def _assert_unavailable_and_nothing_stored(answer: dict[str, Any], after: list[dict[str, Any]], url: str) -> None:
    assert answer["type"] == "error"
    assert answer["data"]["code"] == "UNAVAILABLE"
    assert answer["data"]["original_message_id"] == "n-1"
    assert after == []
    with psycopg.connect(url) as conn:
        assert conn.execute("SELECT count(*) FROM notifications").fetchone() == (0,)


async def test_a_notification_sent_to_a_read_only_database_is_answered_unavailable_and_the_socket_stays(
    postgres: PgServer, database_url: str, settings: Settings
) -> None:
    # Started read-only: every connection the service opens accepts no writes (a failover's standby).
    with read_only(postgres, database_url), server_in_thread(settings) as server:
        async with await open_stream(server.ws, token(sub="pub", roles=("publisher",))) as publisher:
            await receive(publisher)
            answer, after = await _publish_answer(publisher)

    _assert_unavailable_and_nothing_stored(answer, after, database_url)


async def test_a_notification_sent_while_the_database_is_unreachable_is_answered_unavailable_and_the_socket_stays(
    postgres: PgServer, server: RunningServer, database_url: str
) -> None:
    async with await open_stream(server.ws, token(sub="pub", roles=("publisher",))) as publisher:
        await receive(publisher)
        with unreachable(postgres, database_url):
            answer, after = await _publish_answer(publisher)

    _assert_unavailable_and_nothing_stored(answer, after, database_url)
