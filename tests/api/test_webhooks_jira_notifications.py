"""A new assignee of an incident or task is notified, and nobody else is."""

from __future__ import annotations

from typing import Any

import httpx
from websockets.asyncio.client import ClientConnection

from tests.conftest import token
from tests.support.clients import expect_silence, open_stream, receive, receive_events
from tests.support.deliveries import count, post_fixture, rows
from tests.support.server import RunningServer

TASK_CREATED = "jira_cloud/issue_created_task_medium_unassigned.json"
TASK_ASSIGNED = "jira_cloud/issue_updated_task_assigned_in_progress.json"
MARCUS = "5b10ac8d82e05b22cc7d4ef5"  # his Cloud account id
PRIYA = "712020:5b7e2c1a-9d3f-4e8b-a6c4-0f1e2d3c4b5a"


def _notifications(messages: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [m for m in messages if m["type"] == "notification"]


async def _stream(server: RunningServer, sub: str, **claims: Any) -> ClientConnection:
    ws = await open_stream(server.ws, token(sub=sub, **claims))
    await receive(ws)
    return ws


async def test_a_task_assigned_in_cloud_notifies_its_new_assignee_alone(
    server: RunningServer, http: httpx.AsyncClient, database_url: str
) -> None:
    async with (
        await _stream(server, MARCUS) as marcus,
        await _stream(server, "someone-else", email="marcus.chen@elsewhere.example") as other,
    ):
        await post_fixture(http, TASK_CREATED)
        response = await post_fixture(http, TASK_ASSIGNED)
        created, updated, notified = await receive_events(marcus, 3)
        others = await receive_events(other, 2)
        assert await expect_silence(other) == []

    assert response.json() == {"status": "stored", "events": 2}
    assert [(m["type"], m["action"]) for m in (created, updated)] == [("task", "created"), ("task", "updated")]
    assert notified["id"] > updated["id"]
    notified["data"].pop("id")
    assert (notified["type"], notified["action"]) == ("notification", "created")
    assert notified["data"] == {
        "title": "New task assigned",
        "message": "You have been assigned to task OPS-1488",
        "type": "info",
        "priority": "normal",
        "actionUrl": "/infra?tab=tasks",
        "metadata": {
            "kind": "task",
            "id": "task-10881",
            "jira_id": "OPS-1488",
            "title": "Rotate TLS certificates on edge-proxy before 2025-02-01",
        },
    }
    assert _notifications(others) == []
    # Stored, addressed by every identifier Jira gave: account id and the e-mail, lower-cased.
    assert rows(database_url, "SELECT audience, sent_by FROM notifications") == [
        (["5b10ac8d82e05b22cc7d4ef5", "marcus.chen@northwind.example"], "jira")
    ]


async def test_the_assignee_is_reached_by_the_email_claim_whatever_its_case(
    server: RunningServer, http: httpx.AsyncClient
) -> None:
    async with await _stream(server, "auth0|marcus", email="MARCUS.CHEN@northwind.example") as marcus:
        await post_fixture(http, TASK_CREATED)
        await post_fixture(http, TASK_ASSIGNED)
        messages = await receive_events(marcus, 3)

    assert [n["data"]["message"] for n in _notifications(messages)] == ["You have been assigned to task OPS-1488"]


async def test_a_critical_incident_created_with_an_assignee_notifies_them_with_high_priority(
    server: RunningServer, http: httpx.AsyncClient
) -> None:
    async with await _stream(server, PRIYA) as priya:
        await post_fixture(http, "jira_cloud/issue_created_incident_highest.json")
        incident, notified = await receive_events(priya, 2)

    assert incident["type"] == "incident"
    assert notified["data"]["title"] == "New incident assigned"
    assert notified["data"]["message"] == "You have been assigned to incident OPS-1482"
    assert (notified["data"]["priority"], notified["data"]["actionUrl"]) == ("high", "/infra?tab=incidents")


async def test_a_data_center_assignee_is_reached_by_login_key_or_email(
    server: RunningServer, http: httpx.AsyncClient
) -> None:
    async with (
        await _stream(server, "jsmith") as by_login,
        await _stream(server, "JIRAUSER10102") as by_key,
        await _stream(server, "oidc-7781", email="j.smith@northwind.example") as by_email,
        await _stream(server, "akumar") as other,
    ):
        await post_fixture(http, "jira_datacenter/issue_created_incident.json")
        await post_fixture(http, "jira_datacenter/issue_updated_assigned_in_progress.json")
        received = [await receive_events(ws, 3) for ws in (by_login, by_key, by_email)]
        others = await receive_events(other, 2)
        assert await expect_silence(other) == []

    for messages in received:
        [notified] = _notifications(messages)
        assert notified["data"]["message"] == "You have been assigned to incident PLAT-2207"
        assert notified["data"]["priority"] == "high"  # Highest: a critical incident
    assert len({n["id"] for messages in received for n in _notifications(messages)}) == 1  # one notification
    assert _notifications(others) == []


async def test_no_notification_while_the_assignee_stays_the_same(
    server: RunningServer, http: httpx.AsyncClient, database_url: str
) -> None:
    async with await _stream(server, PRIYA) as priya:
        await post_fixture(http, "jira_cloud/issue_created_incident_highest.json")
        await receive_events(priya, 2)
        status_changed = await post_fixture(http, "jira_cloud/issue_updated_status_investigating.json")
        automation = await post_fixture(http, "jira_automation/send_web_request_issue_data_jira_format.json")
        [updated] = await receive_events(priya, 1)
        assert await expect_silence(priya) == []

    assert updated["type"] == "incident"
    assert status_changed.json() == {"status": "stored", "events": 1}
    assert automation.json() == {"status": "unchanged", "events": 0}
    assert count(database_url, "notifications") == 1


async def test_an_unassigned_issue_notifies_nobody(
    server: RunningServer, http: httpx.AsyncClient, database_url: str
) -> None:
    response = await post_fixture(http, TASK_CREATED)

    assert response.json() == {"status": "stored", "events": 1}
    assert count(database_url, "notifications") == 0
