"""The rules of change for Jira deliveries, which arrive out of order and more than once."""

from __future__ import annotations

import httpx

from tests.conftest import token
from tests.support.clients import expect_silence, open_stream, receive, receive_events
from tests.support.deliveries import count, fixture_body, post_fixture, rows
from tests.support.server import RunningServer

CREATED = "jira_cloud/issue_created_incident_highest.json"
INVESTIGATING = "jira_cloud/issue_updated_status_investigating.json"


async def test_an_update_older_than_the_stored_one_is_ignored(
    server: RunningServer, http: httpx.AsyncClient, database_url: str
) -> None:
    async with await open_stream(server.ws, token()) as ws:
        await receive(ws)
        await post_fixture(http, CREATED)
        await post_fixture(http, INVESTIGATING)
        await receive_events(ws, 2)
        late = await post_fixture(http, "jira_cloud/issue_updated_delivered_late_retry.json", as_sent=True)
        assert await expect_silence(ws) == []

    assert late.status_code == 200
    assert late.json() == {"status": "unchanged", "events": 0}
    assert rows(database_url, "SELECT title, status FROM incidents") == [
        ("Checkout API p99 latency > 4s in eu-west-1", "in_progress")
    ]


async def test_an_update_that_changes_nothing_the_contract_carries_sends_nothing(
    server: RunningServer, http: httpx.AsyncClient
) -> None:
    async with await open_stream(server.ws, token()) as ws:
        await receive(ws)
        await post_fixture(http, INVESTIGATING)
        await receive_events(ws, 1)
        commented = await post_fixture(http, "jira_cloud/issue_updated_comment_added_fields_unchanged.json")
        assert await expect_silence(ws) == []

    assert commented.json() == {"status": "unchanged", "events": 0}


async def test_a_redelivery_of_the_same_delivery_is_answered_2xx_changes_nothing_and_sends_nothing(
    server: RunningServer, http: httpx.AsyncClient, database_url: str
) -> None:
    async with await open_stream(server.ws, token()) as ws:
        await receive(ws)
        first = await post_fixture(http, CREATED, as_sent=True)
        await receive_events(ws, 1)
        answers = [await post_fixture(http, CREATED, as_sent=True) for _ in range(3)]
        assert await expect_silence(ws) == []

    assert first.json() == {"status": "stored", "events": 2}
    assert [(a.status_code, a.json()) for a in answers] == [(200, {"status": "duplicate", "events": 0})] * 3
    assert count(database_url, "events") == 2
    assert count(database_url, "webhook_deliveries") == 1


async def test_a_task_whose_type_becomes_incident_moves_as_deleted_then_created(
    server: RunningServer, http: httpx.AsyncClient, database_url: str
) -> None:
    async with await open_stream(server.ws, token()) as ws:
        await receive(ws)
        await post_fixture(http, "jira_cloud/issue_created_task_medium_unassigned.json")
        await post_fixture(http, "jira_cloud/issue_updated_task_assigned_in_progress.json")
        await receive_events(ws, 2)
        moved = await post_fixture(http, "jira_cloud/issue_updated_issuetype_task_to_incident.json")
        deleted, created = await receive_events(ws, 2)
        assert await expect_silence(ws) == []

    assert moved.json() == {"status": "stored", "events": 2}  # the assignee stays: no new notification
    assert (deleted["type"], deleted["action"], deleted["data"]["id"]) == ("task", "deleted", "task-10881")
    assert (created["type"], created["action"], created["data"]["id"]) == ("incident", "created", "inc-10881")
    assert (created["data"]["severity"], created["data"]["status"]) == ("high", "in_progress")
    assert created["id"] > deleted["id"]
    assert count(database_url, "tasks") == 0
    assert rows(database_url, "SELECT jira_key FROM incidents") == [("OPS-1488",)]


async def test_an_update_made_before_the_deletion_does_not_bring_the_issue_back(
    server: RunningServer, http: httpx.AsyncClient, database_url: str
) -> None:
    """Jira retries for up to half an hour: an update that failed before the deletion may arrive after it."""
    async with await open_stream(server.ws, token()) as ws:
        await receive(ws)
        await post_fixture(http, "jira_cloud/issue_created_task_medium_unassigned.json")
        await post_fixture(http, "jira_cloud/issue_deleted.json")
        await receive_events(ws, 2)
        retried = await post_fixture(http, "jira_cloud/issue_updated_task_assigned_in_progress.json")
        assert await expect_silence(ws) == []

    assert retried.json() == {"status": "unchanged", "events": 0}
    assert count(database_url, "tasks") + count(database_url, "notifications") == 0


async def test_a_creation_arriving_after_its_deletion_is_not_stored(
    server: RunningServer, http: httpx.AsyncClient, database_url: str
) -> None:
    async with await open_stream(server.ws, token()) as ws:
        await receive(ws)
        deleted = await post_fixture(http, "jira_datacenter/issue_deleted.json")
        created = await post_fixture(http, "jira_datacenter/issue_created_incident.json")
        assert await expect_silence(ws) == []

    assert deleted.json() == created.json() == {"status": "unchanged", "events": 0}
    assert count(database_url, "incidents") == 0


async def test_deleting_an_issue_never_stored_changes_nothing(
    server: RunningServer, http: httpx.AsyncClient, database_url: str
) -> None:
    async with await open_stream(server.ws, token()) as ws:
        await receive(ws)
        response = await post_fixture(http, "jira_cloud/issue_deleted.json")
        assert await expect_silence(ws) == []

    assert (response.status_code, response.json()) == (200, {"status": "unchanged", "events": 0})
    assert count(database_url, "events") == 0


async def test_an_update_that_does_not_name_the_issue_type_keeps_the_stored_kind(
    server: RunningServer, http: httpx.AsyncClient
) -> None:
    """Atlassian's documented example update carries no issue type: it must not move an incident to tasks."""
    update = fixture_body(INVESTIGATING)
    del update["issue"]["fields"]["issuetype"]
    unknown = {
        "webhookEvent": "jira:issue_updated",
        "issue": {
            "id": "555",
            "key": "JRA-20002",
            "fields": {
                "summary": "I feel the need for speed",
                "priority": "Minor",
                "created": "2009-12-16T23:46:10.612-0600",
            },
        },
    }
    async with await open_stream(server.ws, token()) as ws:
        await receive(ws)
        await post_fixture(http, CREATED)
        kept = await http.post("/api/webhooks/jira", json=update)
        new = await http.post("/api/webhooks/jira", json=unknown)
        created, updated, task = await receive_events(ws, 3)

    assert (kept.json(), new.json()) == ({"status": "stored", "events": 1}, {"status": "stored", "events": 1})
    assert (updated["type"], updated["action"], updated["data"]["status"]) == ("incident", "updated", "in_progress")
    assert updated["data"]["id"] == created["data"]["id"]
    assert (task["type"], task["data"]["priority"], task["data"]["squad"]) == ("task", "low", "jra")
