"""POST /api/webhooks/jira, end to end for every sender shape: HTTP in, message out on a real socket."""

from __future__ import annotations

import json
from pathlib import Path

import httpx
import pytest

from tests.conftest import make_settings, token
from tests.support.clients import FIXTURES, expect_silence, fixture_bytes, open_stream, receive, receive_events
from tests.support.deliveries import (
    AUTOMATION_TOKEN,
    FIXTURE_SECRET,
    count,
    fixture_body,
    post_fixture,
    rows,
)
from tests.support.server import RunningServer, server_in_thread

CREATED = "jira_cloud/issue_created_incident_highest.json"


async def test_created_incident_reaches_a_subscriber_as_the_exact_contract_message(
    server: RunningServer, http: httpx.AsyncClient
) -> None:
    async with await open_stream(server.ws, token()) as ws:
        hello = await receive(ws)
        response = await http.post("/api/webhooks/jira", content=fixture_bytes(CREATED))
        assert response.status_code == 200
        [message] = await receive_events(ws, 1)

    # Two events: the incident, and the notification addressed to its assignee alone.
    assert response.json() == {"status": "stored", "events": 2}
    assert message["id"] == hello["data"]["position"] + 1
    timestamp = message.pop("timestamp")
    assert timestamp.endswith("Z")
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
            "description": (
                "Impact\n"
                "Checkout API p99 latency is above 4s in eu-west-1 since 10:12 UTC; ~12% of order submissions time out."
                "\n\nSignals\n"
                "- Alertmanager: CheckoutHighLatency (critical)\n"
                "- Grafana panel: Checkout / p99 by route\n\n"
                "upstream connect error or disconnect/reset before headers. reset reason: overflow\n\n"
                "Status page: https://status.northwind.example/incidents/8842"
            ),
        },
    }


async def test_task_update_and_deletion_follow_the_created_task(server: RunningServer, http: httpx.AsyncClient) -> None:
    created = fixture_body("jira_cloud/issue_created_task_medium_unassigned.json")
    updated = json.loads(json.dumps(created))
    updated["webhookEvent"] = "jira:issue_updated"
    updated["issue"]["fields"]["status"] = {"name": "In Review", "statusCategory": {"key": "indeterminate"}}
    updated["issue"]["fields"]["updated"] = "2025-01-18T09:00:00.000+0000"
    deleted = {"webhookEvent": "jira:issue_deleted", "timestamp": 1737194400000, "issue": created["issue"]}

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
    assert messages[0]["data"]["due_date"] == "2025-01-31"
    assert "assignee" not in messages[0]["data"]
    assert messages[1]["data"]["status"] == "review"
    assert messages[2]["data"]["id"] == messages[0]["data"]["id"]
    assert [m["id"] for m in messages] == sorted(m["id"] for m in messages)


async def test_cloud_status_change_moves_the_incident_to_in_progress(
    server: RunningServer, http: httpx.AsyncClient
) -> None:
    async with await open_stream(server.ws, token()) as ws:
        await receive(ws)
        await post_fixture(http, CREATED)
        response = await post_fixture(http, "jira_cloud/issue_updated_status_investigating.json")
        created, updated = await receive_events(ws, 2)

    assert response.json() == {"status": "stored", "events": 1}  # same assignee: no notification
    assert (updated["action"], updated["data"]["id"]) == ("updated", created["data"]["id"])
    assert updated["data"]["status"] == "in_progress"
    assert updated["data"]["updated_at"] == "2025-01-17T10:41:37.226Z"


async def test_data_center_deliveries_with_offsets_and_login_users_follow_the_incident_to_its_end(
    server: RunningServer, http: httpx.AsyncClient, database_url: str
) -> None:
    names = [
        "jira_datacenter/issue_created_incident.json",
        "jira_datacenter/issue_updated_assigned_in_progress.json",
        "jira_datacenter/issue_updated_resolved.json",
        "jira_datacenter/issue_updated_closed.json",
        "jira_datacenter/issue_deleted.json",
    ]
    async with await open_stream(server.ws, token()) as ws:
        await receive(ws)
        for name in names:
            assert (await post_fixture(http, name)).status_code == 200, name
        messages = await receive_events(ws, 5)

    assert [(m["action"], m["data"]["status"]) for m in messages] == [
        ("created", "open"),
        ("updated", "in_progress"),
        ("updated", "resolved"),
        ("updated", "closed"),
        ("deleted", "closed"),
    ]
    first = messages[0]["data"]
    # 11:34:08.117+0100 is 10:34:08.117 UTC; Highest is critical; the squad is the project key.
    assert (first["created_at"], first["severity"], first["squad"]) == ("2025-01-17T10:34:08.117Z", "critical", "plat")
    assert first["description"].startswith("Replication lag on pg-orders-02 above 300s.\n\nHost | Lag\n")
    assert messages[1]["data"]["assignee"] == "J.Smith@northwind.example"
    assert messages[1]["data"]["updated_at"] == "2025-01-17T11:02:44.512Z"
    assert count(database_url, "incidents") == 0


async def test_an_old_server_delivery_without_status_categories_maps_by_status_name(
    server: RunningServer, http: httpx.AsyncClient
) -> None:
    async with await open_stream(server.ws, token()) as ws:
        await receive(ws)
        await post_fixture(http, "jira_datacenter/issue_created_bug_old_server_no_status_category.json")
        [message] = await receive_events(ws, 1)

    data = message["data"]
    assert (message["type"], data["status"], data["priority"]) == ("task", "review", "high")  # In Review, Major
    assert (data["created_at"], data["due_date"], data["squad"]) == ("2025-01-17T06:00:00.000Z", "2025-01-20", "net")
    # A masked e-mail ("akumar at northwind dot example") is no address: the display name is shown.
    assert data["assignee"] == "Arjun Kumar"
    assert data["description"] == (
        "Seen 4 flaps since 08:00.\n- peer 10.20.0.1\n- peer 10.20.0.5\n\nSee runbook (https://wiki.northwind.example/BGP)"
    )


async def test_automation_issue_data_in_jira_format_updates_the_incident_it_names(
    server: RunningServer, http: httpx.AsyncClient
) -> None:
    async with await open_stream(server.ws, token()) as ws:
        await receive(ws)
        await post_fixture(http, CREATED)
        response = await post_fixture(http, "jira_automation/send_web_request_issue_data_jira_format.json")
        created, updated = await receive_events(ws, 2)

    assert response.status_code == 200
    assert updated["action"] == "updated"
    assert updated["data"]["id"] == created["data"]["id"] == "inc-10873"  # numeric id 10873, same issue
    # `updated` was epoch milliseconds: 1737110497226.
    assert (updated["data"]["status"], updated["data"]["updated_at"]) == ("in_progress", "2025-01-17T10:41:37.226Z")


async def test_automation_issue_data_in_automation_format_creates_a_task(
    server: RunningServer, http: httpx.AsyncClient
) -> None:
    async with await open_stream(server.ws, token()) as ws:
        await receive(ws)
        response = await post_fixture(http, "jira_automation/send_web_request_issue_data_automation_format.json")
        [message] = await receive_events(ws, 1)

    assert response.status_code == 200
    assert (message["type"], message["action"]) == ("task", "created")
    assert message["data"] | {"description": None} == {
        "id": "task-10895",
        "jira_id": "OPS-1495",
        "title": "Retry PSP calls with jitter",
        "status": "review",
        "squad": "ops",
        "assignee": "Priya Raman",
        "due_date": "2025-01-24",
        "priority": "high",
        "created_at": "2025-01-18T10:10:00.000Z",
        "updated_at": "2025-01-18T11:10:00.000Z",
        "description": None,
    }
    assert message["data"]["description"] == "Use exponential backoff with full jitter on PSP timeouts."


async def test_automation_custom_data_in_the_webhook_envelope_deletes(
    server: RunningServer, http: httpx.AsyncClient
) -> None:
    async with await open_stream(server.ws, token()) as ws:
        await receive(ws)
        await post_fixture(http, CREATED)
        response = await post_fixture(http, "jira_automation/send_web_request_custom_data_issue_deleted.json")
        created, deleted = await receive_events(ws, 2)

    assert response.json() == {"status": "stored", "events": 1}
    assert (deleted["action"], deleted["data"]) == ("deleted", created["data"])


async def test_a_service_management_incident_with_an_adf_description_is_an_incident(
    server: RunningServer, http: httpx.AsyncClient
) -> None:
    async with await open_stream(server.ws, token()) as ws:
        await receive(ws)
        await post_fixture(http, "jira_cloud/issue_created_jsm_system_incident_adf_description.json")
        [message] = await receive_events(ws, 1)

    data = message["data"]
    # "[System] Incident" is an Incident; "P1 - Critical" is critical; "Work in progress" is in progress.
    assert (message["type"], data["severity"], data["status"]) == ("incident", "critical", "in_progress")
    assert data["assignee"] == "Aiko.Tanaka@Northwind.example"
    assert data["description"] == (
        "What customers see\nCard payments fail with PSP_TIMEOUT for @Aiko Tanaka's region.\n"
        "- EU: 38% of attempts\n- US: unaffected\nhttps://status.northwind.example/incidents/8850"
    )


@pytest.mark.parametrize(
    ("name", "event"),
    [
        ("jira_cloud/comment_created.json", "comment_created"),
        ("jira_cloud/worklog_created.json", "worklog_created"),
        ("jira_cloud/sprint_started.json", "sprint_started"),
        ("jira_cloud/jira_version_released.json", "jira:version_released"),
    ],
)
async def test_other_jira_events_are_acknowledged_ignored_and_counted(
    server: RunningServer, http: httpx.AsyncClient, database_url: str, name: str, event: str
) -> None:
    async with await open_stream(server.ws, token()) as ws:
        await receive(ws)
        response = await post_fixture(http, name, as_sent=True)
        assert await expect_silence(ws) == []

    assert response.status_code == 202
    assert response.json() == {"status": "ignored", "event": event}
    assert count(database_url, "events") == 0
    assert rows(database_url, "SELECT outcome, count(*) FROM webhook_deliveries GROUP BY outcome") == [("ignored", 1)]


def _samples() -> list[str]:
    return sorted(
        str(path.relative_to(FIXTURES))
        for folder in ("jira_cloud", "jira_datacenter", "jira_automation")
        for path in (FIXTURES / folder).glob("*.json")
        if not path.name.endswith(".headers.json")
    )


async def test_every_sample_is_accepted_with_the_credentials_it_was_sent_with(
    database_url: str, tmp_path: Path
) -> None:
    """Cloud and Data Center samples are signed with the secret; Automation's carry the token."""
    settings = make_settings(
        database_url, tmp_path, jira_webhook_secret=FIXTURE_SECRET, jira_webhook_token=AUTOMATION_TOKEN
    )
    with server_in_thread(settings) as running:
        async with httpx.AsyncClient(base_url=running.http) as http:
            answers = {name: (await post_fixture(http, name, as_sent=True)).status_code for name in _samples()}

    assert len(answers) >= 20
    assert {name: status for name, status in answers.items() if status not in (200, 202)} == {}
