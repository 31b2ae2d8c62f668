"""GET /api/incidents, /api/tasks, /api/alerts, /api/assets: filters, sorting, cursors, visibility."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from tests.support.api import ADMIN, PUBLISHER, VIEWER, asset, bearer, insert_alert
from tests.support.jira import issue_event

UPDATED = "2025-01-17T1{}:00:00.000+0000"


async def _jira(http: httpx.AsyncClient, number: int, **fields: Any) -> None:
    response = await http.post("/api/webhooks/jira", json=issue_event(number, **fields))
    assert response.json()["status"] == "stored"


async def _ids(http: httpx.AsyncClient, path: str, headers: dict[str, str] = VIEWER, **params: Any) -> list[str]:
    response = await http.get(path, params=params, headers=headers)
    assert response.status_code == 200, response.text
    return [item["id"] for item in response.json()["items"]]


async def _seed_incidents(http: httpx.AsyncClient) -> None:
    await _jira(http, 1, project="OPS", priority="Highest", updated=UPDATED.format(1))
    await _jira(http, 2, project="OPS", priority="Low", status="In Progress", category="indeterminate",
                updated=UPDATED.format(2), assignee={"displayName": "Priya Raman"})  # fmt: skip
    await _jira(http, 3, project="SEC", priority="High", status="Done", category="done", updated=UPDATED.format(3))
    await _jira(http, 4, project="SEC", priority="Medium", updated=UPDATED.format(4))


@pytest.mark.parametrize(
    ("params", "expected"),
    [
        ({}, ["inc-10004", "inc-10003", "inc-10002", "inc-10001"]),
        ({"status": "open"}, ["inc-10004", "inc-10001"]),
        ({"status": ["open", "resolved"]}, ["inc-10004", "inc-10003", "inc-10001"]),
        ({"status": "in_progress,resolved"}, ["inc-10003", "inc-10002"]),
        ({"severity": ["critical", "high"]}, ["inc-10003", "inc-10001"]),
        ({"squad": "sec"}, ["inc-10004", "inc-10003"]),
        ({"assignee": "priya raman"}, ["inc-10002"]),
        ({"updated_since": "2025-01-17T13:00:00Z"}, ["inc-10004", "inc-10003"]),
        ({"updated_since": "2025-01-17T14:00:00+01:00"}, ["inc-10004", "inc-10003"]),
        ({"squad": "ops", "status": "open"}, ["inc-10001"]),
        ({"order": "asc"}, ["inc-10001", "inc-10002", "inc-10003", "inc-10004"]),
        ({"sort": "severity"}, ["inc-10001", "inc-10003", "inc-10004", "inc-10002"]),
        ({"sort": "severity", "order": "asc"}, ["inc-10002", "inc-10004", "inc-10003", "inc-10001"]),
        ({"sort": "id", "order": "asc"}, ["inc-10001", "inc-10002", "inc-10003", "inc-10004"]),
    ],
)
async def test_incident_filters_and_sorts(http: httpx.AsyncClient, params: dict[str, Any], expected: list[str]) -> None:
    await _seed_incidents(http)

    assert await _ids(http, "/api/incidents", **params) == expected


async def test_task_filters_and_priority_sort(http: httpx.AsyncClient) -> None:
    await _jira(http, 1, issue_type="Task", priority="Low", updated=UPDATED.format(1))
    await _jira(http, 2, issue_type="Task", priority="Highest", status="In Review", category="indeterminate",
                updated=UPDATED.format(2))  # fmt: skip
    await _jira(http, 3, issue_type="Task", project="SEC", priority="Medium", updated=UPDATED.format(3))

    assert await _ids(http, "/api/tasks", sort="priority") == ["task-10002", "task-10003", "task-10001"]
    assert await _ids(http, "/api/tasks", status="review") == ["task-10002"]
    assert await _ids(http, "/api/tasks", priority="low,medium") == ["task-10003", "task-10001"]
    assert await _ids(http, "/api/tasks", squad="sec") == ["task-10003"]
    assert await _ids(http, "/api/incidents") == []
    task = (await http.get("/api/tasks/task-10002", headers=VIEWER)).json()
    assert (task["jira_id"], task["status"], task["priority"]) == ("OPS-2", "review", "high")


async def test_alert_filters_and_visibility_by_squad_or_environment(http: httpx.AsyncClient, database_url: str) -> None:
    insert_alert(database_url, "a-1", environment="production", squad="ops", severity="critical")
    insert_alert(database_url, "a-2", environment="staging", status="resolved", updated_at="2025-01-17T14:00:00Z")
    insert_alert(database_url, "a-3", environment="dev", squad="sec", severity="low", updated_at="2025-01-17T15:00:00Z")
    ops_viewer = bearer(squads=("ops",), environments=("staging",))

    assert await _ids(http, "/api/alerts") == ["a-3", "a-2", "a-1"]
    assert await _ids(http, "/api/alerts", status="resolved") == ["a-2"]
    assert await _ids(http, "/api/alerts", environment="production,dev") == ["a-3", "a-1"]
    assert await _ids(http, "/api/alerts", sort="severity") == ["a-1", "a-2", "a-3"]
    assert await _ids(http, "/api/alerts", headers=ops_viewer) == ["a-2", "a-1"]
    assert (await http.get("/api/alerts/a-3", headers=ops_viewer)).status_code == 404
    alert = (await http.get("/api/alerts/a-1", headers=ops_viewer)).json()
    assert (alert["metric"], alert["value"], alert["triggered_at"]) == ("cpu_usage", 95.0, "2025-01-17T13:00:00.000Z")
    assert "resolved_at" not in alert


async def test_asset_filters_and_sorts(http: httpx.AsyncClient) -> None:
    for body in (
        asset("db-01", id="a", risk_level="critical", asset_type="RDS"),
        asset("web-02", id="b", risk_level="low", environment="staging", source="aws"),
        asset("app-03", id="c", risk_level="high", source="aws"),
    ):
        await http.post("/api/assets", json=body, headers=PUBLISHER)

    assert await _ids(http, "/api/assets") == ["c", "b", "a"]
    assert await _ids(http, "/api/assets", sort="hostname", order="asc") == ["c", "a", "b"]
    assert await _ids(http, "/api/assets", sort="risk_level") == ["a", "c", "b"]
    assert await _ids(http, "/api/assets", environment="production") == ["c", "a"]
    assert await _ids(http, "/api/assets", source="aws", risk_level=["low", "high"]) == ["c", "b"]
    assert await _ids(http, "/api/assets", asset_type="RDS") == ["a"]


async def test_a_viewer_of_squad_a_never_reads_squad_b_and_cannot_tell_it_exists(http: httpx.AsyncClient) -> None:
    await _seed_incidents(http)
    ops = bearer(squads=("ops",), environments=())

    assert await _ids(http, "/api/incidents", headers=ops) == ["inc-10002", "inc-10001"]
    assert await _ids(http, "/api/incidents", headers=ops, squad="sec") == []
    hidden = await http.get("/api/incidents/inc-10003", headers=ops)
    missing = await http.get("/api/incidents/inc-99999", headers=ops)
    assert (hidden.status_code, missing.status_code) == (404, 404)
    assert hidden.json()["error"]["message"] == "no incident with id 'inc-10003'"
    assert await _ids(http, "/api/incidents", headers=bearer(squads=(), environments=())) == []
    assert await _ids(http, "/api/incidents", headers=ADMIN) == ["inc-10004", "inc-10003", "inc-10002", "inc-10001"]


async def test_assets_are_visible_by_environment_only(http: httpx.AsyncClient) -> None:
    await http.post("/api/assets", json=asset(id="prod"), headers=PUBLISHER)
    await http.post("/api/assets", json=asset(id="stage", environment="staging"), headers=PUBLISHER)
    squads_only = bearer(squads=("*",), environments=())

    assert await _ids(http, "/api/assets", headers=bearer(squads=(), environments=("staging",))) == ["stage"]
    assert await _ids(http, "/api/assets", headers=squads_only) == []
    assert (await http.get("/api/assets/prod", headers=squads_only)).status_code == 404


async def _walk(http: httpx.AsyncClient, path: str, between_pages: Any = None, **params: Any) -> list[str]:
    seen: list[str] = []
    cursor = None
    while True:
        page = (
            await http.get(path, params={**params, **({"cursor": cursor} if cursor else {})}, headers=VIEWER)
        ).json()
        seen += [item["id"] for item in page["items"]]
        cursor = page.get("next_cursor")
        if cursor is None:
            return seen
        if between_pages is not None:
            await between_pages(len(seen))


@pytest.mark.parametrize("sort", ["updated_at", "created_at", "hostname", "risk_level", "id"])
@pytest.mark.parametrize("order", ["asc", "desc"])
async def test_cursor_pages_walk_every_row_once_while_rows_are_inserted(
    http: httpx.AsyncClient, sort: str, order: str
) -> None:
    for n in range(7):
        await http.post("/api/assets", json=asset(f"host-{n % 3}", id=f"a{n}", risk_level="low"), headers=PUBLISHER)
    expected = await _walk(http, "/api/assets", sort=sort, order=order, limit=100)

    async def insert(seen: int) -> None:
        body = asset(f"host-{seen}", id=f"late-{seen}", risk_level="low")
        await http.post("/api/assets", json=body, headers=PUBLISHER)

    walked = await _walk(http, "/api/assets", between_pages=insert, sort=sort, order=order, limit=2)

    assert sorted(expected) == [f"a{n}" for n in range(7)]
    assert [asset_id for asset_id in walked if not asset_id.startswith("late-")] == expected
    assert len(walked) == len(set(walked))


async def test_a_cursor_is_refused_when_garbled_or_issued_for_another_order(http: httpx.AsyncClient) -> None:
    for n in range(3):
        await http.post("/api/assets", json=asset(id=f"a{n}"), headers=PUBLISHER)
    cursor = (await http.get("/api/assets", params={"limit": 1}, headers=VIEWER)).json()["next_cursor"]

    garbled = await http.get("/api/assets", params={"cursor": cursor[:-3] + "!!!"}, headers=VIEWER)
    other_order = await http.get("/api/assets", params={"cursor": cursor, "order": "asc"}, headers=VIEWER)
    other_sort = await http.get("/api/assets", params={"cursor": cursor, "sort": "hostname"}, headers=VIEWER)

    for answer in (garbled, other_order, other_sort):
        assert answer.status_code == 422
        assert answer.json()["error"]["details"] == [
            {"field": "query.cursor", "problem": answer.json()["error"]["details"][0]["problem"]}
        ]
    assert "keep the sort" in other_sort.json()["error"]["message"]


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"statuz": "open"}, "query.statuz"),
        ({"status": "pending"}, "query.status.0"),
        ({"sort": "title"}, "query.sort"),
        ({"limit": "0"}, "query.limit"),
        ({"limit": "201"}, "query.limit"),
        ({"updated_since": "2025-01-17T10:00:00"}, "query.updated_since"),
        ({"squad": "a\x00b"}, "query.squad.0"),
    ],
)
async def test_bad_query_parameters_get_422_naming_them(
    http: httpx.AsyncClient, params: dict[str, str], field: str
) -> None:
    response = await http.get("/api/incidents", params=params, headers=VIEWER)

    assert response.status_code == 422
    assert [detail["field"] for detail in response.json()["error"]["details"]] == [field]


@pytest.mark.parametrize("path", ["/api/incidents", "/api/tasks/t", "/api/alerts", "/api/assets/a", "/api/events"])
async def test_reading_needs_a_valid_token(http: httpx.AsyncClient, path: str) -> None:
    anonymous = await http.get(path)
    expired = await http.get(path, headers=bearer(ttl=-120))
    no_role = await http.get(path, headers=bearer(roles=("guest",)))

    assert (anonymous.status_code, expired.status_code, no_role.status_code) == (401, 401, 403)
    assert anonymous.headers["www-authenticate"] == "Bearer"


async def test_the_session_cookie_is_accepted_like_the_header(http: httpx.AsyncClient) -> None:
    await http.post("/api/assets", json=asset(id="a"), headers=PUBLISHER)
    cookie = VIEWER["Authorization"].removeprefix("Bearer ")

    response = await http.get("/api/assets", headers={"Cookie": f"ops_bridge_session={cookie}"})

    assert [item["id"] for item in response.json()["items"]] == ["a"]
