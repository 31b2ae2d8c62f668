"""The Jira mapping as configured: squads, priorities and statuses from settings, end to end."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx

from app.senders.jira import _mapping_for
from tests.conftest import make_settings, token
from tests.support.clients import expect_silence, open_stream, receive, receive_events
from tests.support.deliveries import post_fixture
from tests.support.server import server_in_thread

CLOUD = "jira_cloud/issue_created_incident_highest.json"  # labels squad-checkout; components checkout-api
DATACENTER = "jira_datacenter/issue_created_incident.json"  # customfield_10301: cascading eu-central / fra-dc2
JSM = "jira_cloud/issue_created_jsm_system_incident_adf_description.json"  # customfield_10070: team Payments Squad


async def _squads(settings_overrides: dict[str, Any], database_url: str, tmp_path: Path) -> list[str]:
    settings = make_settings(database_url, tmp_path, **settings_overrides)
    with server_in_thread(settings) as running:
        async with (
            httpx.AsyncClient(base_url=running.http) as http,
            await open_stream(running.ws, token()) as ws,
        ):
            await receive(ws)
            for name in (CLOUD, DATACENTER, JSM):
                assert (await post_fixture(http, name)).status_code == 200
            messages = await receive_events(ws, 3)
    return [m["data"]["squad"] for m in messages]


async def test_with_no_squad_rule_the_squad_is_the_project_key(database_url: str, tmp_path: Path) -> None:
    assert await _squads({}, database_url, tmp_path) == ["ops", "plat", "sup"]


async def test_the_squad_rules_apply_in_order_where_set(database_url: str, tmp_path: Path) -> None:
    overrides = {
        "jira_squad_field": "customfield_10070",  # only the JSM issue has it
        "jira_squad_from_component": True,  # the Cloud and DC issues have components
        "jira_squad_label_prefix": "squad-",
        "jira_squad_project_map": "PLAT=core-data",
    }
    assert await _squads(overrides, database_url, tmp_path) == ["checkout-api", "postgres-primary", "payments-squad"]


async def test_label_prefix_then_project_map_then_project_key(database_url: str, tmp_path: Path) -> None:
    overrides = {"jira_squad_label_prefix": "squad-", "jira_squad_project_map": "SUP=service-desk, OPS=ignored"}
    assert await _squads(overrides, database_url, tmp_path) == ["checkout", "core-data", "service-desk"]


async def test_a_cascading_select_gives_its_parent_value(database_url: str, tmp_path: Path) -> None:
    assert await _squads({"jira_squad_field": "customfield_10301"}, database_url, tmp_path) == [
        "ops",
        "eu-central",
        "sup",
    ]


async def test_the_configured_squad_decides_who_may_see_the_incident(database_url: str, tmp_path: Path) -> None:
    settings = make_settings(database_url, tmp_path, jira_squad_label_prefix="squad-")
    with server_in_thread(settings) as running:
        async with (
            httpx.AsyncClient(base_url=running.http) as http,
            await open_stream(running.ws, token(squads=("checkout",))) as checkout,
            await open_stream(running.ws, token(squads=("ops",))) as ops,
        ):
            await receive(checkout)
            await receive(ops)
            await post_fixture(http, CLOUD)
            [seen] = await receive_events(checkout, 1)
            assert await expect_silence(ops) == []

    assert seen["data"]["squad"] == "checkout"


async def test_custom_priority_and_status_names_map_as_configured(database_url: str, tmp_path: Path) -> None:
    settings = make_settings(
        database_url,
        tmp_path,
        jira_priority_map="Highest=high,P1 - Critical=low",
        jira_incident_status_map="Work in progress=open",
        jira_task_status_map="Code Review=in_progress",
    )
    with server_in_thread(settings) as running:
        async with (
            httpx.AsyncClient(base_url=running.http) as http,
            await open_stream(running.ws, token()) as ws,
        ):
            await receive(ws)
            for name in (CLOUD, JSM, "jira_automation/send_web_request_issue_data_automation_format.json"):
                await post_fixture(http, name)
            cloud, jsm, story = await receive_events(ws, 3)

    assert cloud["data"]["severity"] == "high"
    assert (jsm["data"]["severity"], jsm["data"]["status"]) == ("low", "open")
    assert story["data"]["status"] == "in_progress"


async def test_the_incident_issue_types_are_configurable(database_url: str, tmp_path: Path) -> None:
    settings = make_settings(database_url, tmp_path, incident_issue_types="Bug,Story")
    with server_in_thread(settings) as running:
        async with (
            httpx.AsyncClient(base_url=running.http) as http,
            await open_stream(running.ws, token()) as ws,
        ):
            await receive(ws)
            await post_fixture(http, CLOUD)
            await post_fixture(http, "jira_datacenter/issue_created_bug_old_server_no_status_category.json")
            incident_type, bug = await receive_events(ws, 2)

    assert (incident_type["type"], bug["type"]) == ("task", "incident")
    assert bug["data"]["severity"] == "high"  # Major


def test_the_mapping_is_built_once_for_the_settings_in_use(database_url: str, tmp_path: Path) -> None:
    settings = make_settings(database_url, tmp_path)
    other = make_settings(database_url, tmp_path, jira_squad_label_prefix="squad-")

    first = _mapping_for(settings)
    assert _mapping_for(settings) is first
    assert _mapping_for(other).squads.label_prefix == "squad-"
