"""/api/assets: create, read, replace, patch, delete; who may; what subscribers receive."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from tests.conftest import token
from tests.support.api import ADMIN, PUBLISHER, VIEWER, asset, bearer, rows
from tests.support.clients import expect_silence, open_stream, open_stream_after_writes, receive, receive_events
from tests.support.server import RunningServer


async def test_a_created_asset_is_stored_clean_and_sent_to_its_environment_only(
    server: RunningServer, http: httpx.AsyncClient, database_url: str
) -> None:
    body = asset(asset_type="<b>EC2</b>", ip_address="2001:DB8:0:0::1", owner="  ops <i>team</i> ")
    async with (
        await open_stream(server.ws, token(environments=("production",), squads=())) as production,
        await open_stream(server.ws, token(environments=("staging",), squads=())) as staging,
    ):
        await receive(production)
        await receive(staging)
        created = await http.post("/api/assets", json=body, headers=PUBLISHER)
        [message] = await receive_events(production, 1)
        assert await expect_silence(staging) == []

    assert created.status_code == 201
    stored = created.json()
    assert created.headers["location"] == f"/api/assets/{stored['id']}"
    assert stored["id"].startswith("asset-")
    assert (stored["asset_type"], stored["ip_address"], stored["owner"]) == ("EC2", "2001:db8::1", "ops team")
    assert message["type"] == "asset"
    assert message["action"] == "created"
    assert message["data"] == stored
    assert rows(database_url, "SELECT id, hostname, asset_type, environment FROM assets") == [
        (stored["id"], "web-01", "EC2", "production")
    ]


async def test_a_chosen_id_is_kept_and_cannot_be_created_twice(
    server: RunningServer, http: httpx.AsyncClient, database_url: str
) -> None:
    async with await open_stream(server.ws, token()) as ws:
        await receive(ws)
        first = await http.post("/api/assets", json=asset(id="i-0abc"), headers=PUBLISHER)
        await receive_events(ws, 1)  # else it may still be on its way when silence is expected
        again = await http.post("/api/assets", json=asset("other", id="i-0abc"), headers=PUBLISHER)
        assert await expect_silence(ws) == []

    assert first.status_code == 201
    assert first.json()["id"] == "i-0abc"
    assert again.status_code == 409
    assert again.json()["error"]["code"] == "CONFLICT"
    assert rows(database_url, "SELECT hostname FROM assets") == [("web-01",)]


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"hostname": "web_01"}, "hostname"),
        ({"hostname": "-web"}, "hostname"),
        ({"hostname": "a" * 64 + ".example.com"}, "hostname"),
        ({"hostname": ""}, "hostname"),
        ({"ip_address": "999.1.1.1"}, "ip_address"),
        ({"ip_address": "10.0.0"}, "ip_address"),
        ({"ip_address": "fe80::1%eth0"}, "ip_address"),
        ({"risk_level": "severe"}, "risk_level"),
        ({"environment": "prod"}, "environment"),
        ({"asset_type": ""}, "asset_type"),
        ({"asset_type": "<script>alert(1)</script>"}, "asset_type"),
        ({"owner": "<b></b>"}, "owner"),
        ({"id": "has/slash"}, "id"),
        ({"source": "not a name"}, "source"),
        ({"colour": "blue"}, "colour"),
    ],
)
async def test_an_invalid_asset_gets_422_naming_the_field_and_stores_nothing(
    http: httpx.AsyncClient, database_url: str, change: dict[str, Any], field: str
) -> None:
    response = await http.post("/api/assets", json=asset(**change), headers=PUBLISHER)

    assert response.status_code == 422
    error = response.json()["error"]
    assert error["code"] == "INVALID_PAYLOAD"
    assert [detail["field"] for detail in error["details"]] == [f"body.{field}"]
    assert rows(database_url, "SELECT count(*) FROM assets") == [(0,)]
    assert rows(database_url, "SELECT count(*) FROM events") == [(0,)]


async def test_a_missing_required_field_is_named() -> None:
    # The same rule, for absence: checked on the model, no server needed.
    from pydantic import ValidationError

    from app.domain.assets import AssetCreate

    with pytest.raises(ValidationError) as raised:
        AssetCreate.model_validate({"hostname": "web-01", "asset_type": "EC2", "risk_level": "low"})
    assert [error["loc"] for error in raised.value.errors()] == [("environment",)]


async def test_replacing_sends_updated_and_replacing_with_the_same_sends_nothing(
    server: RunningServer, http: httpx.AsyncClient
) -> None:
    created = (await http.post("/api/assets", json=asset(owner="ops"), headers=PUBLISHER)).json()
    path = f"/api/assets/{created['id']}"
    async with await open_stream_after_writes(server.ws, server.settings.database_url, token()) as ws:
        await receive(ws)
        replaced = await http.put(path, json=asset(risk_level="critical"), headers=PUBLISHER)
        [message] = await receive_events(ws, 1)
        same = await http.put(path, json=asset(risk_level="critical"), headers=PUBLISHER)
        assert await expect_silence(ws) == []

    assert replaced.status_code == 200
    assert "owner" not in replaced.json()  # PUT replaces every field: absent means null
    assert message["action"] == "updated"
    assert message["data"] == replaced.json()
    assert same.json() == replaced.json()  # updated_at included: nothing changed
    assert replaced.json()["created_at"] == created["created_at"]


async def test_a_patch_changes_the_fields_it_names_and_null_clears_an_optional_one(http: httpx.AsyncClient) -> None:
    created = (await http.post("/api/assets", json=asset(owner="ops", ip_address="10.0.0.1"), headers=PUBLISHER)).json()
    path = f"/api/assets/{created['id']}"

    patched = await http.patch(path, json={"risk_level": "high", "owner": None}, headers=PUBLISHER)
    null_required = await http.patch(path, json={"hostname": None}, headers=PUBLISHER)

    assert patched.status_code == 200
    assert {k: v for k, v in patched.json().items() if k != "updated_at"} == {
        **{k: v for k, v in created.items() if k not in {"updated_at", "owner"}},
        "risk_level": "high",
    }
    assert null_required.status_code == 422
    assert null_required.json()["error"]["details"][0]["field"] == "body.hostname"
    assert (await http.get(path, headers=VIEWER)).json() == patched.json()


async def test_moving_an_asset_is_a_deletion_there_and_a_creation_here(
    server: RunningServer, http: httpx.AsyncClient
) -> None:
    created = (await http.post("/api/assets", json=asset(environment="staging"), headers=PUBLISHER)).json()
    async with (
        await open_stream_after_writes(
            server.ws, server.settings.database_url, token(environments=("production",), squads=())
        ) as production,
        await open_stream_after_writes(
            server.ws, server.settings.database_url, token(environments=("staging",), squads=())
        ) as staging,
    ):
        await receive(production)
        await receive(staging)
        await http.patch(f"/api/assets/{created['id']}", json={"environment": "production"}, headers=PUBLISHER)
        [gone] = await receive_events(staging, 1)
        [arrived] = await receive_events(production, 1)
        assert await expect_silence(staging) == []
        assert await expect_silence(production) == []

    assert (gone["action"], gone["data"]) == ("deleted", created)
    assert (arrived["action"], arrived["data"]["environment"]) == ("created", "production")
    assert arrived["id"] == gone["id"] + 1  # one transaction, consecutive positions


async def test_deleting_sends_the_last_state_and_then_the_asset_is_gone(
    server: RunningServer, http: httpx.AsyncClient, database_url: str
) -> None:
    created = (await http.post("/api/assets", json=asset(), headers=PUBLISHER)).json()
    path = f"/api/assets/{created['id']}"
    async with await open_stream_after_writes(server.ws, server.settings.database_url, token()) as ws:
        await receive(ws)
        deleted = await http.delete(path, headers=PUBLISHER)
        [message] = await receive_events(ws, 1)
        again = await http.delete(path, headers=PUBLISHER)

    assert deleted.status_code == 204
    assert (message["action"], message["data"]) == ("deleted", created)
    assert again.status_code == 404
    assert (await http.get(path, headers=VIEWER)).status_code == 404
    assert rows(database_url, "SELECT count(*) FROM assets") == [(0,)]


async def test_writing_needs_the_publisher_role(http: httpx.AsyncClient, database_url: str) -> None:
    created = (await http.post("/api/assets", json=asset(id="a-1"), headers=ADMIN)).json()
    sync = {"environment": "production", "assets": [{"id": "a-2", **asset()}]}
    attempts = [
        ("POST", "/api/assets", asset()),
        ("PUT", "/api/assets/a-1", asset(risk_level="low")),
        ("PATCH", "/api/assets/a-1", {"risk_level": "low"}),
        ("DELETE", "/api/assets/a-1", None),
        ("POST", "/api/assets/bulk", sync),
    ]

    for method, path, body in attempts:
        as_viewer = await http.request(method, path, json=body, headers=VIEWER)
        anonymous = await http.request(method, path, json=body)
        assert (method, path, as_viewer.status_code, anonymous.status_code) == (method, path, 403, 401)
        assert as_viewer.json()["error"]["code"] == "FORBIDDEN"
    assert (await http.get("/api/assets/a-1", headers=VIEWER)).json() == created
    assert rows(database_url, "SELECT count(*) FROM events") == [(1,)]


async def test_a_publisher_writes_only_in_the_environments_its_token_grants(
    http: httpx.AsyncClient, database_url: str
) -> None:
    staging_publisher = bearer(sub="ci", roles=("publisher",), squads=(), environments=("staging",))
    await http.post("/api/assets", json=asset(id="prod-1"), headers=ADMIN)
    await http.post("/api/assets", json=asset(id="stage-1", environment="staging"), headers=ADMIN)

    create_in_production = await http.post("/api/assets", json=asset(), headers=staging_publisher)
    replace_production = await http.put("/api/assets/prod-1", json=asset(), headers=staging_publisher)
    delete_production = await http.delete("/api/assets/prod-1", headers=staging_publisher)
    move_to_production = await http.patch(
        "/api/assets/stage-1", json={"environment": "production"}, headers=staging_publisher
    )
    in_staging = await http.patch("/api/assets/stage-1", json={"owner": "ci"}, headers=staging_publisher)

    assert create_in_production.status_code == 403
    assert (replace_production.status_code, delete_production.status_code) == (404, 404)
    assert move_to_production.status_code == 403
    assert in_staging.status_code == 200
    assert rows(database_url, "SELECT id, environment, owner FROM assets ORDER BY id") == [
        ("prod-1", "production", None),
        ("stage-1", "staging", "ci"),
    ]


async def test_bodies_that_are_not_json_get_clear_answers(http: httpx.AsyncClient, database_url: str) -> None:
    json_header = {**PUBLISHER, "Content-Type": "application/json"}
    not_json = await http.post("/api/assets", content=b"{nope", headers=json_header)
    nan = await http.post("/api/notifications", content=b'{"title":"t","message":"m","metadata":{"x":NaN}}',
                          headers=json_header)  # fmt: skip
    wrong_type = await http.post("/api/assets", content=b"hostname=web", headers=PUBLISHER)
    too_large = await http.post("/api/assets", content=b" " * (4 * 1024 * 1024 + 1), headers=json_header)

    assert (not_json.status_code, not_json.json()["error"]["code"]) == (400, "INVALID_JSON")
    assert nan.status_code == 400
    assert (wrong_type.status_code, wrong_type.json()["error"]["code"]) == (415, "UNSUPPORTED_MEDIA_TYPE")
    assert (too_large.status_code, too_large.json()["error"]["code"]) == (413, "PAYLOAD_TOO_LARGE")
    assert rows(database_url, "SELECT count(*) FROM events") == [(0,)]


async def test_a_change_of_source_alone_is_stored_without_a_message(
    server: RunningServer, http: httpx.AsyncClient
) -> None:
    created = (await http.post("/api/assets", json=asset(source="cmdb"), headers=PUBLISHER)).json()
    path = f"/api/assets/{created['id']}"
    async with await open_stream_after_writes(server.ws, server.settings.database_url, token()) as ws:
        await receive(ws)
        cleared = await http.patch(path, json={"source": None}, headers=PUBLISHER)
        assert await expect_silence(ws) == []

    assert cleared.status_code == 200
    assert cleared.json() == {k: v for k, v in created.items() if k != "source"}  # updated_at kept too


async def test_replacing_or_patching_an_asset_that_does_not_exist_is_404(http: httpx.AsyncClient) -> None:
    replaced = await http.put("/api/assets/nope", json=asset(), headers=PUBLISHER)
    patched = await http.patch("/api/assets/nope", json={"owner": "x"}, headers=PUBLISHER)

    assert (replaced.status_code, patched.status_code) == (404, 404)
    assert replaced.json()["error"] == {"code": "NOT_FOUND", "message": "no asset with id 'nope'"}
