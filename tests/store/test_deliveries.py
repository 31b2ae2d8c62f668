"""The raw delivery log keeps the URL's query for reprocessing, never its credentials."""

from __future__ import annotations

from pathlib import Path

import httpx

from tests.conftest import make_settings
from tests.support.deliveries import rows
from tests.support.jira import issue_event
from tests.support.server import server_in_thread


async def test_a_delivery_authenticated_by_secret_in_the_url_is_stored_without_it(
    database_url: str, tmp_path: Path
) -> None:
    settings = make_settings(database_url, tmp_path, jira_webhook_token="jira-server-token-0123456789")
    with server_in_thread(settings) as server:
        async with httpx.AsyncClient(base_url=server.http) as http:
            url = "/api/webhooks/jira?secret=jira-server-token-0123456789&source=server"
            response = await http.post(url, json=issue_event(1))

    assert response.status_code == 200
    assert rows(database_url, "SELECT query, headers::text FROM webhook_deliveries")[0][0] == {"source": "server"}
    assert "jira-server-token" not in str(
        rows(database_url, "SELECT query::text, headers::text FROM webhook_deliveries")
    )
