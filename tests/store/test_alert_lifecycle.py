"""The alert lifecycle rules, end to end: Alertmanager deliveries in, messages on a real socket."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import httpx
import pytest
from pydantic import ValidationError

from app.clock import utcnow
from app.config import Settings
from app.db.engine import create_engine
from app.ingest.transaction import write
from app.jobs import Jobs
from app.monitoring_jobs import age_alerts_now, register_monitoring_jobs
from tests.conftest import make_settings, token
from tests.support.alerts import am_alert, am_group, count, rows
from tests.support.clients import expect_silence, open_stream, receive, receive_events
from tests.support.server import RunningServer

AM = "/api/webhooks/alertmanager"


async def _post(http: httpx.AsyncClient, body: object) -> dict[str, object]:
    response = await http.post(AM, json=body)
    assert response.status_code == 200, response.text
    result: dict[str, object] = response.json()
    return result


async def test_first_firing_creates_and_an_unchanged_repeat_sends_nothing(
    server: RunningServer, http: httpx.AsyncClient, database_url: str
) -> None:
    async with await open_stream(server.ws, token()) as ws:
        await receive(ws)
        first = await _post(http, am_group(am_alert("fp1", value="5")))
        repeat = await _post(http, am_group(am_alert("fp1", value="5")))
        [created] = await receive_events(ws, 1)
        assert await expect_silence(ws) == []

    assert (first, repeat) == ({"status": "stored", "events": 1}, {"status": "unchanged", "events": 0})
    assert (created["type"], created["action"]) == ("alert", "created")
    assert created["data"] == {
        "id": "alert-alertmanager-fp1",
        "metric": "TestAlert",
        "value": 5.0,
        "threshold": 0.0,
        "operator": "greater_than",
        "environment": "production",
        "severity": "critical",
        "triggered_at": "2025-01-17T10:00:00.000Z",
        "status": "firing",
        "summary": "alert fp1",
        "labels": {"alertname": "TestAlert", "env": "prod", "severity": "critical", "squad": "ops"},
    }
    assert count(database_url, "alerts") == 1


async def test_a_change_the_contract_carries_updates_and_one_it_does_not_carry_sends_nothing(
    server: RunningServer, http: httpx.AsyncClient
) -> None:
    relabelled = am_alert("fp1", value="5")
    relabelled["annotations"]["runbook_url"] = "https://runbooks.example/new"
    async with await open_stream(server.ws, token()) as ws:
        await receive(ws)
        await _post(http, am_group(am_alert("fp1", value="5")))
        await _post(http, am_group(relabelled))
        await _post(http, am_group(am_alert("fp1", value="7.5")))
        created, updated = await receive_events(ws, 2)
        assert await expect_silence(ws) == []

    assert updated["action"] == "updated"
    assert updated["data"]["value"] == 7.5
    assert updated["data"]["triggered_at"] == created["data"]["triggered_at"]


async def test_resolution_updates_with_resolved_at_and_repeated_resolutions_send_nothing(
    server: RunningServer, http: httpx.AsyncClient, database_url: str
) -> None:
    resolved = am_alert("fp1", status="resolved", ends_at="2025-01-17T10:20:00Z")
    async with await open_stream(server.ws, token()) as ws:
        await receive(ws)
        await _post(http, am_group(am_alert("fp1")))
        await _post(http, am_group(resolved))
        again = await _post(http, am_group(resolved))
        _, update = await receive_events(ws, 2)
        assert await expect_silence(ws) == []

    assert update["action"] == "updated"
    assert (update["data"]["status"], update["data"]["resolved_at"]) == ("resolved", "2025-01-17T10:20:00.000Z")
    assert again == {"status": "unchanged", "events": 0}
    assert rows(database_url, "SELECT action, status FROM alert_history ORDER BY id") == [
        ("created", "firing"),
        ("updated", "resolved"),
    ]


async def test_a_resolution_for_an_alert_never_seen_firing_is_stored_resolved(
    server: RunningServer, http: httpx.AsyncClient, database_url: str
) -> None:
    async with await open_stream(server.ws, token()) as ws:
        await receive(ws)
        await _post(http, am_group(am_alert("ghost", status="resolved", ends_at="2025-01-17T10:05:00Z")))
        [message] = await receive_events(ws, 1)

    assert (message["action"], message["data"]["status"]) == ("created", "resolved")
    assert message["data"]["resolved_at"] == "2025-01-17T10:05:00.000Z"
    assert rows(database_url, "SELECT status, resolved_at IS NOT NULL FROM alerts") == [("resolved", True)]


async def test_in_a_group_marked_firing_each_alert_status_wins(server: RunningServer, http: httpx.AsyncClient) -> None:
    async with await open_stream(server.ws, token()) as ws:
        await receive(ws)
        await _post(http, am_group(am_alert("a"), am_alert("b")))
        await _post(
            http,
            am_group(am_alert("a"), am_alert("b", status="resolved", ends_at="2025-01-17T10:30:00Z"), status="firing"),
        )
        messages = await receive_events(ws, 3)
        assert await expect_silence(ws) == []

    assert [(m["action"], m["data"]["id"], m["data"]["status"]) for m in messages] == [
        ("created", "alert-alertmanager-a", "firing"),
        ("created", "alert-alertmanager-b", "firing"),
        ("updated", "alert-alertmanager-b", "resolved"),
    ]


async def test_a_truncated_group_never_resolves_the_alerts_it_left_out(
    server: RunningServer, http: httpx.AsyncClient, database_url: str
) -> None:
    async with await open_stream(server.ws, token()) as ws:
        await receive(ws)
        await _post(http, am_group(am_alert("a"), am_alert("b")))
        await _post(http, am_group(am_alert("a", value="2"), truncated=1))
        messages = await receive_events(ws, 3)
        assert await expect_silence(ws) == []

    assert [(m["action"], m["data"]["id"]) for m in messages][-1] == ("updated", "alert-alertmanager-a")
    assert rows(database_url, "SELECT id, status FROM alerts ORDER BY id") == [
        ("alert-alertmanager-a", "firing"),
        ("alert-alertmanager-b", "firing"),
    ]


async def test_a_new_occurrence_reopens_a_resolved_alert_and_a_late_copy_of_the_old_one_does_not(
    server: RunningServer, http: httpx.AsyncClient
) -> None:
    async with await open_stream(server.ws, token()) as ws:
        await receive(ws)
        await _post(http, am_group(am_alert("fp1")))
        await _post(http, am_group(am_alert("fp1", status="resolved", ends_at="2025-01-17T10:20:00Z")))
        late = await _post(http, am_group(am_alert("fp1")))
        await _post(http, am_group(am_alert("fp1", starts_at="2025-01-17T11:00:00Z")))
        messages = await receive_events(ws, 3)
        assert await expect_silence(ws) == []

    assert late == {"status": "unchanged", "events": 0}
    reopened = messages[-1]["data"]
    assert (reopened["status"], reopened["triggered_at"]) == ("firing", "2025-01-17T11:00:00.000Z")
    assert "resolved_at" not in reopened


async def test_alert_events_carry_squad_and_environment_for_authorization(
    server: RunningServer, http: httpx.AsyncClient
) -> None:
    ops_only = token(squads=("ops",), environments=())
    others = token(squads=("payments",), environments=("staging",))
    async with await open_stream(server.ws, ops_only) as allowed, await open_stream(server.ws, others) as denied:
        await receive(allowed)
        await receive(denied)
        await _post(http, am_group(am_alert("fp1")))
        [seen] = await receive_events(allowed, 1)
        assert await expect_silence(denied) == []

    assert seen["data"]["id"] == "alert-alertmanager-fp1"


async def test_an_alert_not_re_sent_is_marked_stale_and_comes_back_with_its_next_notification(
    database_url: str, tmp_path: Path, server: RunningServer, http: httpx.AsyncClient
) -> None:
    settings = make_settings(database_url, tmp_path, alert_stale_after_seconds=600)
    engine = create_engine(database_url)
    try:
        async with await open_stream(server.ws, token()) as ws:
            await receive(ws)
            await _post(http, am_group(am_alert("fp1")))
            rows(database_url, "UPDATE alerts SET last_seen_at = now() - interval '11 minutes' RETURNING id")
            async with write(engine) as conn:
                marked = await age_alerts_now(conn, settings)
            async with write(engine) as conn:
                marked_again = await age_alerts_now(conn, settings)
            await _post(http, am_group(am_alert("fp1")))
            messages = await receive_events(ws, 3)
    finally:
        await engine.dispose()

    assert (marked, marked_again) == (1, 0)
    assert [(m["action"], m["data"]["status"]) for m in messages] == [
        ("created", "firing"),
        ("updated", "stale"),
        ("updated", "firing"),
    ]


async def _age(database_url: str, settings: Settings, silent_for: int) -> int:
    """Run the aging job as it would run `silent_for` seconds (plus a minute) from now."""
    engine = create_engine(database_url)
    try:
        async with write(engine) as conn:
            return await age_alerts_now(conn, settings, now=utcnow() + timedelta(seconds=silent_for + 60))
    finally:
        await engine.dispose()


async def test_a_stale_alert_still_unheard_of_expires_closed_with_a_message(
    database_url: str, server: RunningServer, http: httpx.AsyncClient
) -> None:
    """Alertmanager never sends the resolution of an alert that resolved while silenced: the
    service closes it itself after ALERT_EXPIRE_AFTER_SECONDS without news (docs/monitoring.md)."""
    settings = server.settings
    async with await open_stream(server.ws, token()) as ws:
        await receive(ws)
        await _post(http, am_group(am_alert("fp1")))
        aged = [
            await _age(database_url, settings, settings.alert_stale_after_seconds),
            await _age(database_url, settings, settings.alert_expire_after_seconds),
            await _age(database_url, settings, 10 * settings.alert_expire_after_seconds),
        ]
        created, stale, expired = await receive_events(ws, 3)
        assert await expect_silence(ws) == []

    assert aged == [1, 1, 0]
    assert (stale["data"]["status"], expired["data"]["status"]) == ("stale", "expired")
    assert expired["action"] == "updated"
    assert expired["data"]["resolved_at"] > created["timestamp"]
    assert expired["data"] | {"status": "firing"} == created["data"] | {"resolved_at": expired["data"]["resolved_at"]}
    assert rows(database_url, "SELECT status, resolved_at IS NOT NULL FROM alerts") == [("expired", True)]


@pytest.mark.parametrize(
    ("word", "status"),
    [(am_alert("fp1"), "firing"), (am_alert("fp1", status="resolved", ends_at="2025-01-17T12:00:00Z"), "resolved")],
    ids=["firing-again", "resolved-late"],
)
async def test_an_expired_alert_takes_its_senders_next_word(
    database_url: str, server: RunningServer, http: httpx.AsyncClient, word: dict[str, object], status: str
) -> None:
    """Expiry is the service's guess: the same occurrence firing again re-opens the alert
    (a silence ended), and a resolution arriving after all resolves it."""
    settings = server.settings
    async with await open_stream(server.ws, token()) as ws:
        await receive(ws)
        await _post(http, am_group(am_alert("fp1")))
        await _age(database_url, settings, settings.alert_stale_after_seconds)
        await _age(database_url, settings, settings.alert_expire_after_seconds)
        answer = await _post(http, am_group(word))
        created, _, _, after = await receive_events(ws, 4)

    assert answer == {"status": "stored", "events": 1}
    assert (after["action"], after["data"]["status"]) == ("updated", status)
    assert after["data"]["triggered_at"] == created["data"]["triggered_at"]
    assert ("resolved_at" in after["data"]) == (status == "resolved")


def test_expiry_must_come_after_staleness(database_url: str, tmp_path: Path) -> None:
    with pytest.raises(ValidationError, match="ALERT_STALE_AFTER_SECONDS"):
        make_settings(database_url, tmp_path, alert_stale_after_seconds=3600, alert_expire_after_seconds=3600)


async def test_senders_that_never_repeat_are_not_marked_stale(
    database_url: str, tmp_path: Path, server: RunningServer, http: httpx.AsyncClient
) -> None:
    settings = make_settings(database_url, tmp_path, alert_stale_after_seconds=600)
    down = {
        "heartbeat": {"monitorID": 1, "status": 0, "time": "2025-01-17 10:00:00"},
        "monitor": {"id": 1, "name": "m"},
    }
    assert (await http.post("/api/webhooks/uptime-kuma", json=down)).status_code == 200
    rows(database_url, "UPDATE alerts SET last_seen_at = now() - interval '1 day' RETURNING id")
    engine = create_engine(database_url)
    try:
        async with write(engine) as conn:
            assert await age_alerts_now(conn, settings) == 0
    finally:
        await engine.dispose()


def test_the_stale_job_is_one_of_the_service_s_own_jobs(settings: object) -> None:
    names: list[str] = []

    class Recording(Jobs):
        def add(self, name: str, interval: float, run: object) -> None:  # noqa: ARG002
            names.append(name)

    register_monitoring_jobs(Recording(None, None), settings)  # type: ignore[arg-type]

    assert names == ["alerts-stale", "metrics-publish", "metrics-retention", "sla-publish"]


@pytest.mark.parametrize("status", ["firing", "resolved"])
async def test_an_alert_of_another_sender_cannot_be_taken_over_through_its_id(
    server: RunningServer, http: httpx.AsyncClient, database_url: str, status: str
) -> None:
    await _post(http, am_group(am_alert("fp1")))
    hijack = {
        "id": "alert-alertmanager-fp1",
        "metric": "m",
        "value": 1,
        "threshold": 1,
        "severity": "low",
        "status": status,
    }

    response = await http.post("/api/webhooks/alerts", json=hijack)

    assert response.status_code == 422
    assert "another sender" in response.json()["error"]["message"]
    assert rows(database_url, "SELECT source, metric FROM alerts") == [("alertmanager", "TestAlert")]
