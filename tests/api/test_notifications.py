"""/api/notifications: publish over HTTP exactly as over the socket; inboxes; read state."""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest

from tests.conftest import token
from tests.support.api import ADMIN, PUBLISHER, VIEWER, bearer, rows
from tests.support.clients import expect_silence, open_stream, receive, receive_events, receive_until
from tests.support.server import RunningServer

NOTICE = {"title": "Deploy at 14:00", "message": "Checkout <b>freeze</b>", "type": "warning", "actionUrl": "/infra"}


async def test_a_posted_notification_is_stored_and_delivered_like_one_sent_over_the_socket(
    server: RunningServer, http: httpx.AsyncClient, database_url: str
) -> None:
    async with (
        await open_stream(server.ws, token(sub="pub", roles=("publisher",))) as publisher,
        await open_stream(server.ws, token(sub="viewer", squads=(), environments=())) as viewer,
    ):
        await receive(publisher)
        await receive(viewer)
        posted = await http.post("/api/notifications", json=NOTICE, headers=bearer(sub="pub", roles=("publisher",)))
        [over_http] = await receive_events(viewer, 1)
        await publisher.send(json.dumps({"type": "notification", "action": "created", "data": NOTICE}))
        ack = await receive_until(publisher, lambda m: m["type"] == "ack")
        [over_socket] = await receive_events(viewer, 1)

    assert posted.status_code == 201
    body = posted.json()
    assert over_http["data"] == {k: v for k, v in body.items() if k not in {"created_at", "sent_by", "read"}}
    assert (body["sent_by"], body["read"], body["message"]) == ("pub", False, "Checkout freeze")
    same_apart_from_id = {**over_socket["data"], "id": body["id"]}
    assert same_apart_from_id == over_http["data"]
    assert ack["data"]["id"] == over_socket["data"]["id"]
    assert rows(database_url, "SELECT sent_by, audience, type FROM notifications ORDER BY created_at") == [
        ("pub", None, "warning"), ("pub", None, "warning"),
    ]  # fmt: skip


async def test_an_addressed_notification_reaches_only_its_addressees_by_sub_or_email(
    server: RunningServer, http: httpx.AsyncClient
) -> None:
    async with (
        await open_stream(server.ws, token(sub="ana", email="Ana@Example.com")) as ana,
        await open_stream(server.ws, token(sub="bob")) as bob,
        await open_stream(server.ws, token(sub="cy")) as cy,
    ):
        for ws in (ana, bob, cy):
            await receive(ws)
        posted = await http.post(
            "/api/notifications", json={**NOTICE, "to": ["ANA@example.com", "bob"]}, headers=PUBLISHER
        )
        [for_ana] = await receive_events(ana, 1)
        [for_bob] = await receive_events(bob, 1)
        assert await expect_silence(cy) == []

    assert for_ana["data"]["id"] == for_bob["data"]["id"] == posted.json()["id"]
    inboxes = {}
    for name, extra in (("ana", {"email": "ana@example.com"}), ("bob", {}), ("cy", {})):
        inbox = (await http.get("/api/notifications", headers=bearer(sub=name, **extra))).json()
        inboxes[name] = [item["id"] for item in inbox["items"]]
    assert inboxes == {"ana": [posted.json()["id"]], "bob": [posted.json()["id"]], "cy": []}


def _socket_rejected_cases() -> list[tuple[dict[str, Any], str]]:
    return [
        ({"title": "x", "message": "y", "actionUrl": "javascript:alert(1)"}, "body.actionUrl"),
        ({"title": "", "message": "y"}, "body.title"),
        ({"title": "<script>x</script>", "message": "y"}, "body"),
        ({"title": "x", "message": "y", "to": []}, "body.to"),
        ({"title": "x", "message": "y", "to": ["  "]}, "body.to.0"),
        ({"title": "x", "message": "y", "priority": "panic"}, "body.priority"),
        ({"title": "x", "message": "y", "id": "mine"}, "body.id"),
    ]


@pytest.mark.parametrize(("body", "field"), _socket_rejected_cases())
async def test_what_the_socket_refuses_gets_422_over_http_and_stores_nothing(
    http: httpx.AsyncClient, database_url: str, body: dict[str, Any], field: str
) -> None:
    response = await http.post("/api/notifications", json=body, headers=PUBLISHER)

    assert response.status_code == 422
    assert response.json()["error"]["details"][0]["field"] == field
    assert rows(database_url, "SELECT count(*) FROM notifications") == [(0,)]


async def test_metadata_reaches_subscribers_as_plain_text(http: httpx.AsyncClient) -> None:
    metadata = {"<b>key</b>": ["<img src=x onerror=alert(1)>see", {"n": 1, "x": "a<script>b</script>"}]}

    posted = await http.post("/api/notifications", json={**NOTICE, "metadata": metadata}, headers=PUBLISHER)

    assert posted.json()["metadata"] == {"key": ["see", {"n": 1, "x": "a"}]}


async def test_publishing_needs_the_publisher_role(http: httpx.AsyncClient, database_url: str) -> None:
    as_viewer = await http.post("/api/notifications", json=NOTICE, headers=VIEWER)
    anonymous = await http.post("/api/notifications", json=NOTICE)
    as_admin = await http.post("/api/notifications", json=NOTICE, headers=ADMIN)

    assert (as_viewer.status_code, anonymous.status_code, as_admin.status_code) == (403, 401, 201)
    assert rows(database_url, "SELECT sent_by FROM notifications") == [("admin",)]


async def test_the_inbox_holds_the_last_50_unread_first_and_read_state_is_per_user(http: httpx.AsyncClient) -> None:
    posted = [
        (await http.post("/api/notifications", json={**NOTICE, "title": f"n{i}"}, headers=PUBLISHER)).json()["id"]
        for i in range(52)
    ]
    ana, bob = bearer(sub="ana"), bearer(sub="bob")
    marked = await http.post(f"/api/notifications/{posted[-1]}/read", headers=ana)
    again = await http.post(f"/api/notifications/{posted[-1]}/read", headers=ana)

    ana_inbox = (await http.get("/api/notifications", headers=ana)).json()
    bob_inbox = (await http.get("/api/notifications", headers=bob)).json()

    assert (marked.status_code, again.status_code) == (204, 204)
    newest_first = list(reversed(posted))[:50]
    assert [item["id"] for item in ana_inbox["items"]] == [*newest_first[1:], newest_first[0]]
    assert [item["read"] for item in ana_inbox["items"]] == [False] * 49 + [True]
    assert ana_inbox["unread"] == 49
    assert [item["id"] for item in bob_inbox["items"]] == newest_first
    assert bob_inbox["unread"] == 50


async def test_marking_all_read_marks_the_inbox_of_that_user_only(http: httpx.AsyncClient) -> None:
    for i in range(3):
        await http.post("/api/notifications", json={**NOTICE, "title": f"n{i}"}, headers=PUBLISHER)
    ana, bob = bearer(sub="ana"), bearer(sub="bob")

    first = await http.post("/api/notifications/read-all", headers=ana)
    second = await http.post("/api/notifications/read-all", headers=ana)

    assert (first.json(), second.json()) == ({"marked": 3}, {"marked": 0})
    assert (await http.get("/api/notifications", headers=ana)).json()["unread"] == 0
    assert (await http.get("/api/notifications", headers=bob)).json()["unread"] == 3


async def test_a_notification_addressed_to_someone_else_cannot_be_marked_or_seen(http: httpx.AsyncClient) -> None:
    posted = (await http.post("/api/notifications", json={**NOTICE, "to": ["ana"]}, headers=PUBLISHER)).json()

    by_bob = await http.post(f"/api/notifications/{posted['id']}/read", headers=bearer(sub="bob"))
    unknown = await http.post("/api/notifications/notif-none/read", headers=bearer(sub="bob"))
    by_ana = await http.post(f"/api/notifications/{posted['id']}/read", headers=bearer(sub="ana"))

    assert (by_bob.status_code, unknown.status_code, by_ana.status_code) == (404, 404, 204)
    assert by_bob.json() == {"error": {"code": "NOT_FOUND", "message": f"no notification with id {posted['id']!r}"}}
