"""What the Jira endpoint refuses, and how: a 4xx naming the problem, nothing stored,
nothing sent; a 503 when the database is out of reach, so Jira retries."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest

from tests.conftest import make_settings, token
from tests.support.clients import expect_silence, fixture_bytes, open_stream, receive, receive_events
from tests.support.database import PgServer
from tests.support.deliveries import JIRA, count, nothing_stored, post_fixture, rows
from tests.support.outages import unreachable
from tests.support.server import RunningServer, server_in_thread

CREATED = "jira_cloud/issue_created_incident_highest.json"


@pytest.mark.parametrize(
    ("name", "status", "code", "problem"),
    [
        ("malformed/malformed_truncated_json.json", 400, "INVALID_JSON", "body is not valid JSON"),
        ("malformed/jira_latin1_not_utf8.json", 400, "INVALID_JSON", "body is not UTF-8: byte 0xe9"),
        ("malformed/hostile_json_array_not_object.json", 422, "INVALID_PAYLOAD", "must be a JSON object, not an array"),
        ("malformed/jira_issue_without_key.json", 422, "INVALID_PAYLOAD", "'issue.key' is missing"),
        ("malformed/jira_summary_is_a_list.json", 422, "INVALID_PAYLOAD", "'issue.fields.summary' must be a string"),
        (
            "malformed/jira_updated_is_an_object.json",
            422,
            "INVALID_PAYLOAD",
            "'issue.fields.updated' must be a timestamp",
        ),
    ],
)
async def test_a_malformed_delivery_gets_a_4xx_naming_the_problem_and_changes_nothing(
    server: RunningServer, http: httpx.AsyncClient, database_url: str, name: str, status: int, code: str, problem: str
) -> None:
    async with await open_stream(server.ws, token(roles=("admin",))) as ws:
        await receive(ws)
        response = await post_fixture(http, name, as_sent=True)
        assert await expect_silence(ws) == []

    assert response.status_code == status
    assert response.json()["error"]["code"] == code
    assert problem in response.json()["error"]["message"]
    assert nothing_stored(database_url)


@pytest.mark.parametrize(
    ("body", "problem"),
    [
        (b"", "body is empty"),
        (b'"just a string"', "must be a JSON object, not a string"),
        (b'{"hello": "world"}', "no 'webhookEvent'"),
        (b'{"webhookEvent": 12}', "'webhookEvent' must be a non-empty string"),
        (b'{"webhookEvent": "jira:issue_created"}', "'issue' is missing"),
        (b'{"webhookEvent": "jira:issue_updated", "issue": []}', "'issue' must be an object"),
        (b'{"webhookEvent": "jira:issue_created", "issue": {"key": "A-1", "fields": {}}}', "'issue.id' is missing"),
        (b'{"webhookEvent": "jira:issue_created", "issue": {"id": true, "key": "A-1"}}', "'issue.id' must be"),
        (b'{"webhookEvent": "jira:issue_created", "issue": {"id": "1", "key": "A-1"}}', "'issue.fields' is missing"),
        (
            b'{"webhookEvent": "jira:issue_created", "issue": {"id": "1", "key": "A-1",'
            b' "fields": {"issuetype": "Bug"}}}',
            "'issue.fields.summary' is missing",
        ),
        (
            b'{"webhookEvent": "jira:issue_created", "issue": {"id": "1", "key": "A-1", "fields": '
            b'{"summary": "<b></b>", "issuetype": {"name": "Task"}}}}',
            "'issue.fields.summary' is empty once markup is removed",
        ),
        (
            b'{"webhookEvent": "jira:issue_created", "timestamp": "yesterday", "issue": {"id": "1", "key": "A-1",'
            b' "fields": {"summary": "s", "issuetype": {"name": "Task"}}}}',
            "'timestamp' is not a timestamp",
        ),
        (
            b'{"webhookEvent": "jira:issue_created", "issue": {"id": "1", "key": "A-1", "fields": {"summary": "s",'
            b' "issuetype": {"name": "Task"}, "assignee": ["jsmith"]}}}',
            "'issue.fields.assignee' must be an object",
        ),
        (
            b'{"webhookEvent": "jira:issue_created", "issue": {"id": "1", "key": "A-1", "fields": {"summary": "s",'
            b' "issuetype": {"name": "Task"}, "description": 42}}}',
            "'issue.fields.description' must be text or an Atlassian document",
        ),
    ],
)
async def test_a_delivery_of_the_wrong_shape_is_refused_naming_what_is_wrong(
    server: RunningServer, http: httpx.AsyncClient, database_url: str, body: bytes, problem: str
) -> None:
    response = await http.post(JIRA, content=body, headers={"Content-Type": "application/json"})

    assert 400 <= response.status_code < 500
    assert problem in response.json()["error"]["message"], response.json()
    assert nothing_stored(database_url)


async def _status_line(port: int, head: bytes) -> bytes:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    try:
        writer.write(head)
        await writer.drain()
        return await asyncio.wait_for(reader.readline(), 10)
    finally:
        writer.close()


async def test_a_body_declared_over_the_limit_is_refused_before_it_is_sent(
    server: RunningServer, database_url: str
) -> None:
    """Only the headers go out: the 413 comes back without the server waiting for 50 MB."""
    head = (
        b"POST /api/webhooks/jira HTTP/1.1\r\nHost: test\r\nContent-Type: application/json\r\n"
        b"Content-Length: 52428800\r\n\r\n{"
    )
    status = await _status_line(server.port, head)

    assert status.startswith(b"HTTP/1.1 413")
    assert nothing_stored(database_url)
    # No credential is set (development): the refusal is kept, without a body, for `deliveries --failed`.
    assert rows(database_url, "SELECT outcome, length(body) FROM webhook_deliveries") == [("refused", 0)]


async def test_a_delivery_over_the_limit_gets_413_whether_declared_or_streamed(
    database_url: str, tmp_path: Path
) -> None:
    settings = make_settings(database_url, tmp_path, max_webhook_body_bytes=64 * 1024)
    huge = fixture_bytes("jira_cloud/issue_created_huge_summary_and_description.json")
    assert len(huge) > 64 * 1024

    async def chunks() -> AsyncIterator[bytes]:
        for start in range(0, len(huge), 8192):
            yield huge[start : start + 8192]

    with server_in_thread(settings) as running:
        async with httpx.AsyncClient(base_url=running.http) as http:
            declared = await http.post(JIRA, content=huge)
            streamed = await http.post(JIRA, content=chunks())

    assert declared.status_code == streamed.status_code == 413
    assert declared.json()["error"] == {
        "code": "PAYLOAD_TOO_LARGE",
        "message": f"body of {len(huge)} bytes is larger than 65536 bytes (MAX_WEBHOOK_BODY_BYTES)",
    }
    assert streamed.json()["error"]["message"] == "body is larger than 65536 bytes (MAX_WEBHOOK_BODY_BYTES)"
    assert nothing_stored(database_url)
    assert rows(database_url, "SELECT outcome FROM webhook_deliveries") == [("refused",), ("refused",)]


async def test_with_the_database_unreachable_jira_gets_503_and_its_retry_is_stored_once(
    postgres: PgServer, server: RunningServer, http: httpx.AsyncClient, database_url: str
) -> None:
    async with await open_stream(server.ws, token()) as ws:
        await receive(ws)
        with unreachable(postgres, database_url):
            down = await post_fixture(http, CREATED, as_sent=True)
        assert nothing_stored(database_url)
        assert count(database_url, "webhook_deliveries") == 0
        retried = await post_fixture(http, CREATED, as_sent=True)
        [message] = await receive_events(ws, 1)

    assert down.status_code == 503
    assert down.headers["retry-after"] == "5"
    assert down.json()["error"]["code"] == "DATABASE_UNAVAILABLE"
    assert retried.json() == {"status": "stored", "events": 2}
    assert message["data"]["jira_id"] == "OPS-1482"
    assert count(database_url, "incidents") == count(database_url, "notifications") == 1
