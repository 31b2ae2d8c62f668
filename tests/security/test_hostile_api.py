"""Hostile use of the REST API and the stream by low-privilege users, one test per
attack (docs/security.md, "Hostile traffic"), each against a real server."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import psycopg

from tests.conftest import make_settings, token
from tests.support.api import ADMIN, asset, bearer, rows
from tests.support.browser import fresh_page, launched
from tests.support.clients import open_stream, receive, receive_until
from tests.support.server import RunningServer, server_in_thread

# Paths a publisher might give as a notification's link. The first ones browsers
# resolve to another host (`\` is `/`; tabs and newlines are dropped).
OFF_SITE = ["/\\evil.com", "/\t/evil.com", "/\n/evil.com", "/\\/evil.com", "//evil.com"]
ON_SITE = ["/infra?tab=incidents", "/%5Cevil.com", "/%09/evil.com", "/a/b#c"]


async def test_an_action_url_a_browser_would_send_to_another_host_is_refused(server: RunningServer) -> None:
    publisher = bearer(sub="pub", roles=("publisher",))
    async with httpx.AsyncClient(base_url=server.http) as http:
        answers = {}
        for url in OFF_SITE + ON_SITE:
            notice = {"title": "t", "message": "m", "actionUrl": url}
            answers[url] = await http.post("/api/notifications", json=notice, headers=publisher)
    async with await open_stream(server.ws, token(sub="pub", roles=("publisher",))) as ws:
        await receive(ws)
        notification = {"title": "t", "message": "m", "actionUrl": OFF_SITE[0]}
        await ws.send(json.dumps({"type": "notification", "action": "created", "data": notification, "id": "n"}))
        over_socket = await receive(ws)
    # Where Chromium takes each link, followed from a page of the service.
    async with launched() as browser, fresh_page(browser) as page:
        await page.goto(f"{server.http}/healthz")
        lands = await page.evaluate("(urls) => urls.map((u) => new URL(u, location.href).origin)", OFF_SITE + ON_SITE)

    own = server.http
    assert [lands[i] != own for i in range(len(OFF_SITE))] == [True] * len(OFF_SITE)  # the attack is real
    assert {url: answers[url].status_code for url in OFF_SITE} == dict.fromkeys(OFF_SITE, 422)
    assert (over_socket["type"], over_socket["data"]["code"]) == ("error", "INVALID_MESSAGE")
    accepted = [url for url in ON_SITE if answers[url].status_code == 201]
    assert accepted == ON_SITE
    assert all(lands[len(OFF_SITE) + ON_SITE.index(url)] == own for url in accepted)


def _incidents(database_url: str, *squads: str) -> None:
    """One open incident per squad, created an hour ago, in one transaction."""
    created = datetime.now(UTC) - timedelta(hours=1)
    with psycopg.connect(database_url) as conn:
        for number, squad in enumerate(squads, 1):
            conn.execute(
                "INSERT INTO incidents (id, jira_issue_id, jira_key, title, severity, status, squad, created_at, "
                "updated_at) VALUES (%s, %s, %s, 'incident', 'low', 'open', %s, %s, %s)",
                (f"inc-{number}", str(number), f"OPS-{number}", squad, created, created),
            )


def _sla(message: dict[str, Any]) -> bool:
    return message.get("type") == "metric" and message["data"]["metric_name"] == "sla_percentage"


async def test_the_sla_metric_on_the_stream_carries_only_what_the_viewer_may_read(
    database_url: str, tmp_path: Path
) -> None:
    # The periodic SLA metric carried the whole organisation's incident counts to every
    # viewer, while /api/metrics/sla scoped them to the caller.
    settings = make_settings(database_url, tmp_path, sla_publish_interval_seconds=0.2)
    ops_viewer = token(sub="ops-viewer", squads=("ops",), environments=())
    with server_in_thread(settings) as running:
        async with (
            await open_stream(running.ws, token(sub="boss", roles=("admin",), squads=(), environments=())) as admin,
            await open_stream(running.ws, ops_viewer) as viewer,
            httpx.AsyncClient(base_url=running.http) as http,
        ):
            await receive(admin)
            await receive(viewer)
            _incidents(database_url, "ops", "payments", "payments")
            everyone = await receive_until(
                admin, lambda m: _sla(m) and "squad" not in m["data"]["metadata"], timeout=30
            )
            # A metric for everyone, after the publication: what the viewer got of it came before.
            await http.post("/api/metrics", json={"metric_name": "fence", "value": 1})
            seen = [await receive(viewer)]
            while seen[-1]["data"].get("metric_name") != "fence":
                seen.append(await receive(viewer))
            scoped = await http.get("/api/metrics/sla", headers={"Authorization": f"Bearer {ops_viewer}"})

    assert everyone["data"]["metadata"]["incidents"]["total"] == 3  # admins see the organisation's
    figures = [m["data"] for m in seen if _sla(m)]
    assert figures, "the viewer got no SLA figures"
    assert all(f["metadata"].get("squad") == "ops" for f in figures), figures
    assert figures[-1]["metadata"]["incidents"] == scoped.json()["incidents"]  # the same scoping on both
    assert scoped.json()["incidents"]["total"] == 1


async def test_asset_ids_of_environments_a_publisher_cannot_see_do_not_leak_through_conflicts(
    http: httpx.AsyncClient, database_url: str
) -> None:
    for asset_id, environment in (("prod-db-1", "production"), ("prod-db-2", "production"), ("stg-1", "staging")):
        created = await http.post("/api/assets", json=asset(id=asset_id, environment=environment), headers=ADMIN)
        assert created.status_code == 201
    staging = bearer(sub="stg", roles=("publisher",), squads=(), environments=("staging",))

    def taken(asset_id: str) -> dict[str, Any]:
        return {"id": asset_id, "hostname": "web-9", "asset_type": "EC2", "risk_level": "low", "environment": "staging"}

    hidden = await http.post("/api/assets", json=taken("prod-db-1"), headers=staging)
    visible = await http.post("/api/assets", json=taken("stg-1"), headers=staging)
    one = await http.post(
        "/api/assets/bulk",
        json={"environment": "staging", "assets": [taken("prod-db-1"), taken("fresh-1")]},
        headers=staging,
    )
    two = await http.post(
        "/api/assets/bulk",
        json={"environment": "staging", "assets": [taken("prod-db-2"), taken("prod-db-1"), taken("fresh-2")]},
        headers=staging,
    )

    assert (hidden.status_code, visible.status_code) == (409, 409)
    # The same answer whether the holder is visible or not (the id sent is echoed, nothing else).
    assert hidden.text.replace("prod-db-1", "ID") == visible.text.replace("stg-1", "ID")
    assert (one.status_code, two.status_code) == (409, 409)
    assert one.text == two.text  # neither which ids nor how many
    assert "prod-db" not in one.text + two.text
    assert rows(database_url, "SELECT id, environment FROM assets ORDER BY id") == [
        ("prod-db-1", "production"), ("prod-db-2", "production"), ("stg-1", "staging"),
    ]  # fmt: skip
