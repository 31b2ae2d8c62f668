"""POST /api/webhooks/jira, end to end: HTTP in, message out on a real socket."""

from __future__ import annotations

import json

import httpx
import psycopg

from tests.conftest import token
from tests.support.clients import expect_silence, fixture_bytes, open_stream, receive, receive_events
from tests.support.server import RunningServer

CREATED = "jira_cloud/issue_created_incident_highest.json"


def _count(database_url: str, table: str) -> int:
    with psycopg.connect(database_url) as conn:
        row = conn.execute(f"SELECT count(*) FROM {table}").fetchone()
        assert row is not None
        return int(row[0])


async def test_created_incident_reaches_a_subscriber_as_the_exact_contract_message(
    server: RunningServer, http: httpx.AsyncClient
) -> None:
    async with await open_stream(server.ws, token()) as ws:
        hello = await receive(ws)
        response = await http.post("/api/webhooks/jira", content=fixture_bytes(CREATED))
        assert response.status_code == 200
        [message] = await receive_events(ws, 1)

    assert response.json() == {"status": "stored", "events": 1}
    assert message["id"] == hello["data"]["position"] + 1
    timestamp = message.pop("timestamp")
    assert timestamp.endswith("Z")
    description = message["data"].pop("description")
    assert description.startswith("h3. Impact\nCheckout API p99 latency is above 4s")
    assert message == {
        "id": hello["data"]["position"] + 1,
        "type": "incident",
        "action": "created",
        "data": {
            "id": "inc-10873",
            "jira_id": "OPS-1482",
            "title": "Checkout API p99 latency > 4s in eu-west-1",
            "severity": "critical",
            "status": "open",
            "squad": "ops",
            "assignee": "Priya Raman",
            "created_at": "2025-01-17T10:30:00.000Z",
            "updated_at": "2025-01-17T10:30:00.000Z",
        },
    }


async def test_task_update_and_deletion_follow_the_created_task(server: RunningServer, http: httpx.AsyncClient) -> None:
    created = json.loads(fixture_bytes("jira_cloud/issue_created_task_medium_unassigned.json"))
    updated = json.loads(json.dumps(created))
    updated["webhookEvent"] = "jira:issue_updated"
    updated["issue"]["fields"]["status"] = {"name": "In Review", "statusCategory": {"key": "indeterminate"}}
    updated["issue"]["fields"]["updated"] = "2025-01-18T09:00:00.000+0000"
    deleted = {"webhookEvent": "jira:issue_deleted", "issue": created["issue"]}

    async with await open_stream(server.ws, token()) as ws:
        await receive(ws)
        for body in (created, updated, deleted):
            assert (await http.post("/api/webhooks/jira", json=body)).status_code == 200
        messages = await receive_events(ws, 3)

    assert [(m["type"], m["action"]) for m in messages] == [
        ("task", "created"),
        ("task", "updated"),
        ("task", "deleted"),
    ]
    assert messages[0]["data"]["status"] == "todo"
    assert messages[0]["data"]["priority"] == "medium"
    assert "assignee" not in messages[0]["data"]
    assert messages[1]["data"]["status"] == "review"
    assert messages[2]["data"]["id"] == messages[0]["data"]["id"]
    assert [m["id"] for m in messages] == sorted(m["id"] for m in messages)


async def test_malformed_json_is_refused_with_a_named_problem_and_stores_nothing(
    server: RunningServer, http: httpx.AsyncClient, database_url: str
) -> None:
    response = await http.post("/api/webhooks/jira", content=fixture_bytes("malformed/malformed_truncated_json.json"))

    assert response.status_code == 400
    assert response.json()["error"]["code"] == "INVALID_JSON"
    assert "not valid JSON" in response.json()["error"]["message"]
    assert _count(database_url, "events") == 0
    assert _count(database_url, "incidents") + _count(database_url, "tasks") == 0


async def test_wrong_shapes_are_refused_and_store_nothing(
    server: RunningServer, http: httpx.AsyncClient, database_url: str
) -> None:
    shapes = [
        (fixture_bytes("malformed/hostile_json_array_not_object.json"), "JSON object"),
        (b'{"hello": "world"}', "no 'webhookEvent'"),
        (b'{"webhookEvent": "jira:issue_created"}', "'issue'"),
        (b'{"webhookEvent": "jira:issue_created", "issue": {"id": "1", "fields": {}}}', "issue.key"),
        (
            b'{"webhookEvent": "jira:issue_created", "issue": {"id": "1", "key": "A-1", "fields": {"summary": 7.5,'
            b' "created": []}}}',
            "issue.fields.created",
        ),
        (b'{"webhookEvent": 12}', "webhookEvent"),
    ]
    async with await open_stream(server.ws, token()) as ws:
        await receive(ws)
        for body, problem in shapes:
            response = await http.post("/api/webhooks/jira", content=body)
            assert response.status_code == 422, body
            assert problem in response.json()["error"]["message"], response.json()
        assert await expect_silence(ws) == []

    assert _count(database_url, "events") == 0


async def test_other_jira_events_are_acknowledged_and_ignored(
    server: RunningServer, http: httpx.AsyncClient, database_url: str
) -> None:
    response = await http.post("/api/webhooks/jira", json={"webhookEvent": "sprint_started", "sprint": {"id": 3}})

    assert response.status_code == 202
    assert response.json() == {"status": "ignored", "event": "sprint_started"}
    assert _count(database_url, "events") == 0


async def test_a_repeated_identical_update_sends_nothing(server: RunningServer, http: httpx.AsyncClient) -> None:
    async with await open_stream(server.ws, token()) as ws:
        await receive(ws)
        first = await http.post("/api/webhooks/jira", content=fixture_bytes(CREATED))
        again = await http.post("/api/webhooks/jira", content=fixture_bytes(CREATED))
        [message] = await receive_events(ws, 1)
        assert await expect_silence(ws) == []

    assert first.json() == {"status": "stored", "events": 1}
    assert message["data"]["jira_id"] == "OPS-1482"
    assert again.json() == {"status": "unchanged", "events": 0}
