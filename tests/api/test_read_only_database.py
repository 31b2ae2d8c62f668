"""A read-only database (a hot standby, or a primary fenced during a failover):
every write is answered 503 with Retry-After, so senders retry, and nothing is
stored; reads still answer. Not a 500: nothing is wrong with the request."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest

from app.config import Settings
from tests.support.api import PUBLISHER, bearer
from tests.support.clients import fixture_bytes
from tests.support.database import PgServer
from tests.support.deliveries import JIRA, count, fixture_headers, nothing_stored
from tests.support.outages import read_only
from tests.support.server import RunningServer, server_in_thread

ALERTMANAGER = "alertmanager/firing_group_three_alerts.json"
JIRA_CREATED = "jira_cloud/issue_created_incident_highest.json"


@pytest.fixture
def read_only_server(postgres: PgServer, database_url: str, settings: Settings) -> Iterator[RunningServer]:
    """The service started on a database that accepts no writes: every connection it opens is read-only."""
    with read_only(postgres, database_url), server_in_thread(settings) as running:
        yield running


def _unavailable(response: httpx.Response) -> None:
    assert response.status_code == 503, response.text
    assert response.headers["retry-after"] == "5"
    assert response.json() == {
        "error": {"code": "DATABASE_UNAVAILABLE", "message": "the database is unavailable; retry later"}
    }


@pytest.mark.parametrize(
    ("path", "fixture"),
    [(JIRA, JIRA_CREATED), ("/api/webhooks/alertmanager", ALERTMANAGER)],
    ids=["jira (batch writer)", "alertmanager"],
)
async def test_a_webhook_to_a_read_only_database_gets_503_with_retry_after_and_stores_nothing(
    read_only_server: RunningServer, database_url: str, path: str, fixture: str
) -> None:
    async with httpx.AsyncClient(base_url=read_only_server.http, timeout=10) as http:
        refused = await http.post(path, content=fixture_bytes(fixture), headers=fixture_headers(fixture))

    _unavailable(refused)
    assert nothing_stored(database_url)
    assert count(database_url, "alerts") == count(database_url, "webhook_deliveries") == 0


async def test_a_notification_posted_to_a_read_only_database_gets_503_and_reads_still_answer(
    read_only_server: RunningServer, database_url: str
) -> None:
    async with httpx.AsyncClient(base_url=read_only_server.http, timeout=10) as http:
        posted = await http.post("/api/notifications", json={"title": "t", "message": "m"}, headers=PUBLISHER)
        listed = await http.get("/api/incidents", headers=bearer())

    _unavailable(posted)
    assert listed.status_code == 200
    assert count(database_url, "notifications") == 0
