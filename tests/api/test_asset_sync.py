"""POST /api/assets/bulk: an inventory pushes its snapshot of one environment."""

from __future__ import annotations

import asyncio
from typing import Any

import httpx
import psycopg

from tests.conftest import token
from tests.support.api import ADMIN, PUBLISHER, asset, bearer, rows
from tests.support.clients import expect_silence, open_stream_after_writes, receive, receive_events
from tests.support.server import RunningServer


def item(asset_id: str, hostname: str = "web-01", **fields: Any) -> dict[str, Any]:
    described = {name: value for name, value in asset(hostname).items() if name != "environment"}
    return {"id": asset_id, **described, **fields}


def snapshot(*items: dict[str, Any], **options: Any) -> dict[str, Any]:
    return {"environment": "production", "assets": list(items), **options}


async def test_a_sync_sends_one_message_per_changed_asset_and_none_for_unchanged_ones(
    server: RunningServer, http: httpx.AsyncClient, database_url: str
) -> None:
    first = await http.post(
        "/api/assets/bulk", json=snapshot(item("i-1"), item("i-2"), item("i-3"), source="aws"), headers=PUBLISHER
    )
    async with await open_stream_after_writes(server.ws, server.settings.database_url, token()) as ws:
        await receive(ws)
        second = await http.post(
            "/api/assets/bulk",
            json=snapshot(item("i-1"), item("i-2", risk_level="critical"), item("i-4"), source="aws"),
            headers=PUBLISHER,
        )
        messages = await receive_events(ws, 2)
        assert await expect_silence(ws) == []

    assert first.json() == {"created": 3, "updated": 0, "unchanged": 0, "deleted": 0, "events": 3}
    assert second.json() == {"created": 1, "updated": 1, "unchanged": 1, "deleted": 0, "events": 2}
    assert [(m["action"], m["data"]["id"]) for m in messages] == [("updated", "i-2"), ("created", "i-4")]
    assert rows(database_url, "SELECT id, source FROM assets ORDER BY id") == [
        ("i-1", "aws"), ("i-2", "aws"), ("i-3", "aws"), ("i-4", "aws"),
    ]  # fmt: skip


async def test_delete_missing_deletes_only_that_environments_assets_of_that_source(
    server: RunningServer, http: httpx.AsyncClient, database_url: str
) -> None:
    await http.post("/api/assets/bulk", json=snapshot(item("aws-1"), item("aws-2"), source="aws"), headers=PUBLISHER)
    await http.post("/api/assets/bulk", json=snapshot(item("cmdb-1"), source="cmdb"), headers=PUBLISHER)
    await http.post("/api/assets", json=asset(id="by-hand"), headers=PUBLISHER)
    await http.post("/api/assets", json=asset(id="aws-staging", environment="staging", source="aws"), headers=PUBLISHER)
    async with await open_stream_after_writes(server.ws, server.settings.database_url, token()) as ws:
        await receive(ws)
        synced = await http.post(
            "/api/assets/bulk", json=snapshot(item("aws-1"), source="aws", delete_missing=True), headers=PUBLISHER
        )
        [deleted] = await receive_events(ws, 1)
        assert await expect_silence(ws) == []

    assert synced.json() == {"created": 0, "updated": 0, "unchanged": 1, "deleted": 1, "events": 1}
    assert (deleted["action"], deleted["data"]["id"]) == ("deleted", "aws-2")
    assert rows(database_url, "SELECT id FROM assets ORDER BY id") == [
        ("aws-1",), ("aws-staging",), ("by-hand",), ("cmdb-1",),
    ]  # fmt: skip


async def test_delete_missing_without_a_source_empties_the_environment_of_everything_not_listed(
    http: httpx.AsyncClient, database_url: str
) -> None:
    await http.post("/api/assets", json=asset(id="by-hand"), headers=PUBLISHER)
    await http.post("/api/assets", json=asset(id="elsewhere", environment="dev"), headers=PUBLISHER)

    synced = await http.post("/api/assets/bulk", json=snapshot(item("new"), delete_missing=True), headers=PUBLISHER)

    assert synced.json() == {"created": 1, "updated": 0, "unchanged": 0, "deleted": 1, "events": 2}
    assert rows(database_url, "SELECT id, source FROM assets ORDER BY id") == [("elsewhere", None), ("new", None)]


async def test_an_invalid_snapshot_changes_nothing_and_names_the_problem(
    http: httpx.AsyncClient, database_url: str
) -> None:
    await http.post("/api/assets", json=asset(id="keep"), headers=PUBLISHER)
    bad_item = snapshot(item("a"), item("b", hostname="bad_host"), delete_missing=True)
    repeated = snapshot(item("a"), item("a"))
    other_environment = snapshot(item("a", environment="staging"))

    answers = [await http.post("/api/assets/bulk", json=body, headers=PUBLISHER)
               for body in (bad_item, repeated, other_environment)]  # fmt: skip

    assert [a.status_code for a in answers] == [422, 422, 422]
    assert answers[0].json()["error"]["details"][0]["field"] == "body.assets.1.hostname"
    assert "repeated: a" in answers[1].json()["error"]["details"][0]["problem"]
    assert "another environment" in answers[2].json()["error"]["details"][0]["problem"]
    assert rows(database_url, "SELECT id FROM assets") == [("keep",)]
    assert rows(database_url, "SELECT count(*) FROM events") == [(1,)]


async def test_a_sync_cannot_take_over_an_asset_of_an_environment_the_token_does_not_grant(
    http: httpx.AsyncClient, database_url: str
) -> None:
    await http.post("/api/assets", json=asset(id="shared-id"), headers=ADMIN)
    staging = bearer(roles=("publisher",), squads=(), environments=("staging",))

    taken = await http.post(
        "/api/assets/bulk",
        json={**snapshot(item("shared-id"), item("fresh")), "environment": "staging"},
        headers=staging,
    )
    not_granted = await http.post("/api/assets/bulk", json=snapshot(item("fresh")), headers=staging)

    assert (taken.status_code, taken.json()["error"]["code"]) == (409, "CONFLICT")
    assert not_granted.status_code == 403
    assert rows(database_url, "SELECT id, environment FROM assets") == [("shared-id", "production")]


async def test_a_sync_racing_a_create_of_the_same_id_runs_again_and_updates_it(
    http: httpx.AsyncClient, database_url: str
) -> None:
    with psycopg.connect(database_url) as racer:
        racer.execute(
            "INSERT INTO assets (id, hostname, asset_type, risk_level, environment, created_at, updated_at) "
            "VALUES ('i-1', 'racer', 'VM', 'low', 'production', now(), now())"
        )
        # The sync reads before the racer commits, so it plans to create i-1; its
        # insert then waits on the racer's uncommitted row.
        sync = asyncio.create_task(http.post("/api/assets/bulk", json=snapshot(item("i-1")), headers=PUBLISHER))
        await _until_an_insert_waits(database_url)
        racer.commit()
        synced = await sync

    assert synced.status_code == 200
    assert synced.json() == {"created": 0, "updated": 1, "unchanged": 0, "deleted": 0, "events": 1}
    assert rows(database_url, "SELECT hostname, asset_type FROM assets") == [("web-01", "EC2")]


async def _until_an_insert_waits(database_url: str) -> None:
    query = (
        "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
        "AND wait_event_type = 'Lock' AND query LIKE 'INSERT INTO assets%%'"
    )
    async with asyncio.timeout(10):
        # Another session's wait state can only be polled: it raises no event here.
        while rows(database_url, query) != [(1,)]:  # noqa: ASYNC110
            await asyncio.sleep(0.02)
