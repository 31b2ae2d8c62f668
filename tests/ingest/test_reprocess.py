"""Reprocessing stored deliveries through today's mapping: idempotent, oldest
first, one transaction per delivery, events sent only for what changes."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import httpx
import psycopg
import pytest

from app.clock import utcnow
from app.config import Settings
from app.ingest.reprocess import Result, reprocess
from app.ops.send import sender_of
from app.store.deliveries import Selection
from tests.conftest import make_settings, token
from tests.support.clients import (
    FIXTURES,
    expect_silence,
    fixture_bytes,
    open_stream,
    open_stream_after_writes,
    receive,
    receive_events,
)
from tests.support.deliveries import count, rows
from tests.support.jira import issue_event
from tests.support.ops import delivery_row, engine_for, store_delivery
from tests.support.server import RunningServer


async def _reprocess(
    database_url: str, settings: Settings, selection: Selection | None = None, *, dry_run: bool = False
) -> list[Result]:
    results: list[Result] = []
    selection = selection or Selection(since=utcnow() - timedelta(days=1))
    async with engine_for(database_url) as engine:
        await reprocess(engine, settings, selection, dry_run=dry_run, report=results.append)
    return results


async def test_a_delivery_an_older_mapping_rejected_is_applied_and_its_event_sent(
    server: RunningServer, database_url: str, settings: Settings
) -> None:
    delivery = store_delivery(database_url, "jira", issue_event(5), error="no squad rule matched (old mapping)")
    async with await open_stream(server.ws, token()) as ws:
        await receive(ws)
        [result] = await _reprocess(database_url, settings)
        [event] = await receive_events(ws, 1)

    assert (result.before, result.after, result.events) == ("rejected", "applied", 1)
    assert (event["type"], event["action"], event["data"]["jira_id"]) == ("incident", "created", "OPS-5")
    outcome, error, reprocessed_at = delivery_row(database_url, delivery)
    assert (outcome, error) == ("applied", None)
    assert reprocessed_at is not None


async def test_reprocessing_again_changes_nothing_and_sends_nothing(
    server: RunningServer, database_url: str, settings: Settings
) -> None:
    delivery = store_delivery(database_url, "jira", issue_event(6))
    async with await open_stream(server.ws, token()) as ws:
        await receive(ws)
        await _reprocess(database_url, settings)
        await receive_events(ws, 1)
        second = await _reprocess(database_url, settings)
        assert await expect_silence(ws) == []

    assert [(r.before, r.after, r.events) for r in second] == [("applied", "applied", 0)]
    assert delivery_row(database_url, delivery)[0] == "applied"
    assert count(database_url, "incidents") == 1


async def test_after_a_mapping_change_the_dashboard_converges_on_the_corrected_state(
    server: RunningServer, http: httpx.AsyncClient, database_url: str, tmp_path: Path
) -> None:
    # Received under the old mapping: a Bug is a task.
    created = await http.post("/api/webhooks/jira", json=issue_event(7, issue_type="Bug", priority="Highest"))
    assert created.json() == {"status": "stored", "events": 1}
    corrected = make_settings(database_url, tmp_path, incident_issue_types=["Incident", "Bug"])
    async with await open_stream_after_writes(server.ws, server.settings.database_url, token()) as ws:
        await receive(ws)
        [result] = await _reprocess(database_url, corrected)
        moved = await receive_events(ws, 2)
        again = await _reprocess(database_url, corrected)
        assert await expect_silence(ws) == []

    assert [(e["type"], e["action"]) for e in moved] == [("task", "deleted"), ("incident", "created")]
    assert moved[1]["data"]["severity"] == "critical"
    assert (result.after, result.events) == ("applied", 2)
    assert rows(database_url, "SELECT jira_key FROM incidents") == [("OPS-7",)]
    assert count(database_url, "tasks") == 0
    assert [(r.after, r.events) for r in again] == [("applied", 0)]


async def test_deliveries_run_oldest_first_and_an_older_update_does_not_undo_a_newer_one(
    database_url: str, settings: Settings
) -> None:
    now = utcnow()
    newer = issue_event(8, event="jira:issue_updated", priority="Low", updated="2025-01-17T12:00:00.000+0000")
    older = issue_event(8, priority="Highest", updated="2025-01-17T10:30:00.000+0000")
    second = store_delivery(database_url, "jira", newer, received_at=now - timedelta(minutes=1))
    first = store_delivery(database_url, "jira", older, received_at=now - timedelta(minutes=2))

    results = await _reprocess(database_url, settings)

    assert [r.delivery_id for r in results] == [second, first]  # by arrival in the log: the id
    assert rows(database_url, "SELECT severity FROM incidents") == [("low",)]
    assert [(r.after, r.events) for r in results] == [("applied", 1), ("unchanged", 0)]


async def test_a_delivery_that_still_does_not_map_stays_rejected_with_todays_error(
    database_url: str, settings: Settings
) -> None:
    delivery = store_delivery(database_url, "jira", fixture_bytes("malformed/jira_issue_without_key.json"))

    [result] = await _reprocess(database_url, settings)

    outcome, error, _ = delivery_row(database_url, delivery)
    assert (result.after, outcome) == ("rejected", "rejected")
    assert error is not None
    assert "key" in error
    assert error != "rejected by an older mapping"
    assert count(database_url, "events") == 0


async def test_issue_data_refused_for_lacking_the_automation_token_stays_refused_and_accepted_data_reapplies(
    database_url: str, settings: Settings
) -> None:
    """The credential a delivery came with is not kept; its refusal is, and decides."""
    body = fixture_bytes("jira_automation/send_web_request_issue_data_jira_format.json")
    accepted = store_delivery(database_url, "jira", body, outcome="applied", error=None)
    refused_error = (
        "a body without 'webhookEvent' is read as a Jira Automation snapshot only when it comes with the "
        "Automation token (JIRA_WEBHOOK_TOKEN); this one did not"
    )
    refused = store_delivery(database_url, "jira", body.replace(b"OPS-", b"PLAT-"), error=refused_error)

    results = {r.delivery_id: r for r in await _reprocess(database_url, settings)}

    assert (results[accepted].after, results[refused].after) == ("applied", "rejected")
    assert delivery_row(database_url, refused)[1].startswith(refused_error)  # type: ignore[union-attr]
    assert [key.split("-")[0] for (key,) in rows(database_url, "SELECT jira_key FROM incidents")] == ["OPS"]


async def test_a_refused_delivery_has_no_body_to_run_again_and_is_left_as_it_is(
    database_url: str, settings: Settings
) -> None:
    delivery = store_delivery(database_url, "alertmanager", b"", outcome="refused", error="body of 2 MB is too large")

    [result] = await _reprocess(database_url, settings)

    assert result.skipped is not None
    assert delivery_row(database_url, delivery)[:2] == ("refused", "body of 2 MB is too large")


async def test_only_the_chosen_senders_and_outcomes_received_since_are_reprocessed(
    database_url: str, settings: Settings
) -> None:
    wanted = store_delivery(database_url, "jira", issue_event(9))
    store_delivery(database_url, "jira", issue_event(10), outcome="ignored", error=None)
    store_delivery(database_url, "generic", fixture_bytes("generic/single.json"))
    store_delivery(database_url, "jira", issue_event(11), received_at=utcnow() - timedelta(days=3))

    since = utcnow() - timedelta(days=1)
    results = await _reprocess(database_url, settings, Selection(since, senders=["jira"], outcomes=["rejected"]))

    assert [r.delivery_id for r in results] == [wanted]
    assert rows(database_url, "SELECT jira_key FROM incidents") == [("OPS-9",)]


async def test_an_alert_delivery_is_mapped_with_the_query_defaults_it_arrived_with(
    database_url: str, settings: Settings
) -> None:
    body = {"metric": "disk_usage", "value": 97, "threshold": 90, "severity": "high", "resource_id": "db-01"}
    store_delivery(database_url, "generic", body, query={"environment": "staging", "squad": "storage"})

    [result] = await _reprocess(database_url, settings)

    assert (result.after, result.events) == ("applied", 1)
    assert rows(database_url, "SELECT environment, squad FROM alerts") == [("staging", "storage")]


async def test_a_dry_run_says_what_would_change_and_writes_and_sends_nothing(
    server: RunningServer, database_url: str, settings: Settings
) -> None:
    delivery = store_delivery(database_url, "jira", issue_event(12))
    async with await open_stream(server.ws, token()) as ws:
        await receive(ws)
        [result] = await _reprocess(database_url, settings, dry_run=True)
        assert await expect_silence(ws) == []

    assert (result.after, result.events) == ("applied", 1)
    assert delivery_row(database_url, delivery) == ("rejected", "rejected by an older mapping", None)
    assert count(database_url, "incidents") == 0
    assert count(database_url, "events") == 0


async def test_a_subscription_confirmation_is_never_confirmed_again(database_url: str, settings: Settings) -> None:
    body = fixture_bytes("cloudwatch/subscription_confirmation.json")
    delivery = store_delivery(database_url, "cloudwatch", body, outcome="unchanged", error=None)

    [result] = await _reprocess(database_url, settings)

    assert result.skipped == "a subscription confirmation is not repeated"
    assert delivery_row(database_url, delivery) == ("unchanged", None, None)


@pytest.mark.parametrize("sender", ["jira", "generic"])
async def test_a_delivery_received_live_is_recorded_so_it_can_be_reprocessed(
    http: httpx.AsyncClient, database_url: str, settings: Settings, sender: str
) -> None:
    alert = {"metric": "disk_usage", "value": 97, "threshold": 90, "severity": "high"}
    path, body = ("jira", issue_event(13)) if sender == "jira" else ("alerts", alert)
    response = await http.post(f"/api/webhooks/{path}?environment=staging", json=body)
    assert response.status_code == 200

    [result] = await _reprocess(database_url, settings)

    assert (result.sender, result.before, result.after, result.events) == (sender, "applied", "applied", 0)
    assert rows(database_url, "SELECT query FROM webhook_deliveries") == [({"environment": "staging"},)]


def _every_sample() -> list[tuple[str, bytes]]:
    """(sender, body) of every stored sample delivery, in a fixed order; the malformed ones go to Jira."""
    samples = []
    for path in sorted(FIXTURES.glob("*/*.json")):
        if path.name.endswith(".headers.json") or path.parent.name == "asyncapi":
            continue
        sender = "jira" if path.parent.name == "malformed" else sender_of(path, None).name
        samples.append((sender, path.read_bytes()))
    return samples


def _state(database_url: str) -> dict[str, list[tuple[object, ...]]]:
    """Every row a reprocessing could change or send, but the delivery log's bookkeeping."""
    tables = ("incidents", "tasks", "alerts", "events")
    with psycopg.connect(database_url) as conn:
        return {table: conn.execute(f"SELECT * FROM {table} ORDER BY 1").fetchall() for table in tables}


def _effects(results: list[Result]) -> list[tuple[int, str, str, int]]:
    return [(r.delivery_id, r.before, r.after, r.events) for r in results]


async def test_every_sample_of_every_sender_reprocessed_twice_changes_nothing_the_second_time(
    database_url: str, settings: Settings
) -> None:
    start = utcnow() - timedelta(hours=1)
    for n, (sender, body) in enumerate(_every_sample()):
        store_delivery(database_url, sender, body, received_at=start + timedelta(seconds=n))

    dry = await _reprocess(database_url, settings, dry_run=True)
    first = await _reprocess(database_url, settings)
    after_first = _state(database_url)
    again_dry = await _reprocess(database_url, settings, dry_run=True)
    second = await _reprocess(database_url, settings)

    assert _effects(dry) == _effects(first), "the dry run says what the run does"
    assert sum(r.events for r in first) > 0
    assert [r for r in again_dry if r.changed] == []
    assert [r for r in second if r.changed] == [], "the second run changes and sends nothing"
    assert _state(database_url) == after_first
