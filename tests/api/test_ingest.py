"""The common webhook path: redeliveries, the delivery log, sender authentication."""

from __future__ import annotations

import json
from pathlib import Path

import httpx
import psycopg

from app.auth.webhook_signatures import hmac_sha256_hex
from tests.conftest import make_settings, token
from tests.support.clients import expect_silence, open_stream, receive, receive_events
from tests.support.jira import issue_event
from tests.support.server import RunningServer, server_in_thread


def _rows(database_url: str, query: str) -> list[tuple[object, ...]]:
    with psycopg.connect(database_url) as conn:
        return conn.execute(query).fetchall()


async def test_a_redelivery_with_the_same_identifier_is_answered_2xx_and_sends_nothing(
    server: RunningServer, http: httpx.AsyncClient, database_url: str
) -> None:
    headers = {"X-Atlassian-Webhook-Identifier": "delivery-1"}
    changed = issue_event(1, summary="changed in the retry")
    async with await open_stream(server.ws, token()) as ws:
        await receive(ws)
        first = await http.post("/api/webhooks/jira", json=issue_event(1), headers=headers)
        again = await http.post("/api/webhooks/jira", json=changed, headers=headers)
        await receive_events(ws, 1)
        assert await expect_silence(ws) == []

    assert first.json() == {"status": "stored", "events": 1}
    assert again.status_code == 200
    assert again.json() == {"status": "duplicate", "events": 0}
    assert _rows(database_url, "SELECT title FROM incidents") == [("Issue number 1",)]


async def test_every_delivery_is_kept_as_received_with_its_outcome_and_no_credentials(
    server: RunningServer, http: httpx.AsyncClient, database_url: str
) -> None:
    body = json.dumps(issue_event(1)).encode()
    await http.post("/api/webhooks/jira", content=body, headers={"Authorization": "Bearer sekrit", "X-Trace": "t-1"})
    await http.post("/api/webhooks/jira", content=body)
    await http.post("/api/webhooks/jira", json={"webhookEvent": "sprint_started"})
    await http.post("/api/webhooks/jira", json={"webhookEvent": "jira:issue_created", "issue": {"id": "1"}})

    rows = _rows(database_url, "SELECT outcome, error, body, headers FROM webhook_deliveries ORDER BY id")
    assert [row[0] for row in rows] == ["applied", "unchanged", "ignored", "rejected"]
    assert rows[0][2] == body
    assert rows[0][3]["x-trace"] == "t-1"  # type: ignore[index]
    assert "authorization" not in rows[0][3]  # type: ignore[operator]
    assert "issue.key" in str(rows[3][1])


async def test_a_body_that_is_not_json_is_not_kept(
    server: RunningServer, http: httpx.AsyncClient, database_url: str
) -> None:
    response = await http.post("/api/webhooks/jira", content=b"\xff\xfe not json")

    assert response.status_code == 400
    assert _rows(database_url, "SELECT count(*) FROM webhook_deliveries") == [(0,)]


async def test_with_a_jira_secret_only_signed_or_token_bearing_deliveries_are_accepted(
    database_url: str, tmp_path: Path
) -> None:
    settings = make_settings(database_url, tmp_path, jira_webhook_secret="fixture-secret")
    body = json.dumps(issue_event(1)).encode()
    signature = "sha256=" + hmac_sha256_hex("fixture-secret", body)
    with server_in_thread(settings) as running:
        async with httpx.AsyncClient(base_url=running.http) as http:
            unsigned = await http.post("/api/webhooks/jira", content=body)
            forged = await http.post(
                "/api/webhooks/jira", content=body, headers={"X-Hub-Signature": "sha256=" + "0" * 64}
            )
            signed = await http.post("/api/webhooks/jira", content=body, headers={"X-Hub-Signature": signature})
            by_token = await http.post(
                "/api/webhooks/jira", json=issue_event(2), headers={"X-Automation-Webhook-Token": "fixture-secret"}
            )
            by_query = await http.post("/api/webhooks/jira?secret=fixture-secret", json=issue_event(3))

    assert (unsigned.status_code, forged.status_code) == (401, 401)
    assert "fixture-secret" not in unsigned.text
    assert (signed.status_code, by_token.status_code, by_query.status_code) == (200, 200, 200)
    assert _rows(database_url, "SELECT count(*) FROM webhook_deliveries") == [(3,)]


async def test_each_answer_is_compact_json_with_its_length_and_type(http: httpx.AsyncClient) -> None:
    stored = await http.post("/api/webhooks/jira", json=issue_event(1), headers={"X-Atlassian-Webhook-Identifier": "a"})
    again = await http.post("/api/webhooks/jira", json=issue_event(1), headers={"X-Atlassian-Webhook-Identifier": "a"})
    unchanged = await http.post("/api/webhooks/jira", json=issue_event(1))
    ignored = await http.post("/api/webhooks/jira", json={"webhookEvent": "comment_créé\n<b>"})

    assert stored.content == b'{"status":"stored","events":1}'
    assert again.content == b'{"status":"duplicate","events":0}'
    assert unchanged.content == b'{"status":"unchanged","events":0}'
    assert (ignored.status_code, ignored.content) == (202, '{"status":"ignored","event":"comment_crééb"}'.encode())
    for answer in (stored, again, unchanged, ignored):
        assert answer.headers["content-type"] == "application/json"
        assert answer.headers["content-length"] == str(len(answer.content))
