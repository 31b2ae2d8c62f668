"""Every monitoring sender end to end: its real-shaped deliveries in over HTTP,
the contract's alert messages out on a real socket; bad bodies refused."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

import httpx
import psycopg
import pytest

from app.normalize.text import TRUNCATION_MARKER
from tests.conftest import make_settings, token
from tests.support.alerts import am_alert, am_group, count, rows
from tests.support.clients import expect_silence, fixture_bytes, fixture_json, open_stream, receive, receive_events
from tests.support.logwatch import watching
from tests.support.loopback import recording_server
from tests.support.server import RunningServer, server_in_thread


async def test_alertmanager_group_of_three_becomes_three_created_alerts(
    server: RunningServer, http: httpx.AsyncClient
) -> None:
    async with await open_stream(server.ws, token()) as ws:
        await receive(ws)
        response = await http.post(
            "/api/webhooks/alertmanager", content=fixture_bytes("alertmanager/firing_group_three_alerts.json")
        )
        messages = await receive_events(ws, 3)

    assert response.json() == {"status": "stored", "events": 3}
    assert [m["action"] for m in messages] == ["created"] * 3
    first = next(m for m in messages if m["data"]["id"] == "alert-alertmanager-3f1a9c0e5b7d2c48")
    assert first["data"] == {
        "id": "alert-alertmanager-3f1a9c0e5b7d2c48",
        "metric": "CheckoutHighLatency",
        "value": 4.31,
        "threshold": 0.0,
        "operator": "greater_than",
        "environment": "production",
        "severity": "critical",
        "resource_id": "checkout-api-7d9f8b6c4-x2kq9",
        "resource_type": "pod",
        "triggered_at": "2025-01-17T10:14:37.482Z",
        "status": "firing",
        "summary": "Checkout p99 latency 4.31s on checkout-api-7d9f8b6c4-x2kq9",
        "description": "p99 latency for /v2/orders has been > 2s for 10m (current 4.31s).",
        "labels": {
            "alertname": "CheckoutHighLatency",
            "env": "prod",
            "instance": "checkout-api-7d9f8b6c4-x2kq9:8080",
            "job": "checkout-api",
            "namespace": "shop",
            "pod": "checkout-api-7d9f8b6c4-x2kq9",
            "service": "checkout",
            "severity": "critical",
            "squad": "checkout",
        },
    }


async def test_alertmanager_resolved_group_resolves_the_alert(server: RunningServer, http: httpx.AsyncClient) -> None:
    firing = fixture_json("alertmanager/resolved_group.json")
    firing["status"] = firing["alerts"][0]["status"] = "firing"
    firing["alerts"][0]["endsAt"] = "0001-01-01T00:00:00Z"
    async with await open_stream(server.ws, token()) as ws:
        await receive(ws)
        await http.post("/api/webhooks/alertmanager", json=firing)
        await http.post("/api/webhooks/alertmanager", content=fixture_bytes("alertmanager/resolved_group.json"))
        created, resolved = await receive_events(ws, 2)

    assert created["data"]["status"] == "firing"
    assert resolved["action"] == "updated"
    assert (resolved["data"]["status"], resolved["data"]["resolved_at"]) == ("resolved", "2025-01-17T11:58:22.118Z")
    assert resolved["data"]["value"] == 312.0


async def test_grafana_unified_fires_then_resolves(server: RunningServer, http: httpx.AsyncClient) -> None:
    async with await open_stream(server.ws, token()) as ws:
        await receive(ws)
        fired = await http.post(
            "/api/webhooks/grafana", content=fixture_bytes("grafana/unified_firing_two_alerts.json")
        )
        resolved = await http.post("/api/webhooks/grafana", content=fixture_bytes("grafana/unified_resolved.json"))
        messages = await receive_events(ws, 3)

    assert (fired.json()["events"], resolved.json()["events"]) == (2, 1)
    last = messages[-1]
    assert (last["action"], last["data"]["id"], last["data"]["status"]) == (
        "updated", "alert-grafana-6d1c0a9b8e7f5432", "resolved",
    )  # fmt: skip
    assert last["data"]["resolved_at"] == "2025-01-17T10:52:00.000Z"
    assert {m["data"]["id"]: m["data"]["value"] for m in messages[:2]}["alert-grafana-6d1c0a9b8e7f5432"] == 0.1247


async def test_grafana_legacy_alerting_then_ok(server: RunningServer, http: httpx.AsyncClient) -> None:
    async with await open_stream(server.ws, token()) as ws:
        await receive(ws)
        await http.post("/api/webhooks/grafana", content=fixture_bytes("grafana/legacy_alerting.json"))
        await http.post("/api/webhooks/grafana", content=fixture_bytes("grafana/legacy_ok.json"))
        created, resolved = await receive_events(ws, 2)

    assert created["data"]["id"] == resolved["data"]["id"] == "alert-grafana-legacy-1:12:4-31"
    assert (created["data"]["value"], created["data"]["severity"]) == (4.31, "critical")
    assert resolved["data"]["status"] == "resolved"


async def test_generic_alert_arrives_as_the_contract_message(server: RunningServer, http: httpx.AsyncClient) -> None:
    async with await open_stream(server.ws, token()) as ws:
        await receive(ws)
        single = await http.post("/api/webhooks/alerts", content=fixture_bytes("generic/single.json"))
        listed = await http.post("/api/webhooks/alerts", content=fixture_bytes("generic/list.json"))
        messages = await receive_events(ws, 3)

    assert (single.json()["events"], listed.json()["events"]) == (1, 2)
    assert messages[0]["data"] == {**fixture_json("generic/single.json"), "value": 95.0, "threshold": 90.0,
                                   "triggered_at": "2025-01-17T13:00:00.000Z", "status": "firing"}  # fmt: skip
    assert {m["data"]["environment"] for m in messages[1:]} == {"staging", "production"}


async def test_uptime_kuma_monitor_down_then_up(server: RunningServer, http: httpx.AsyncClient) -> None:
    async with await open_stream(server.ws, token()) as ws:
        await receive(ws)
        await http.post("/api/webhooks/uptime-kuma", content=fixture_bytes("uptime_kuma/monitor_down.json"))
        test_message = await http.post(
            "/api/webhooks/uptime-kuma", content=fixture_bytes("uptime_kuma/test_notification.json")
        )
        await http.post("/api/webhooks/uptime-kuma", content=fixture_bytes("uptime_kuma/monitor_up.json"))
        down, up = await receive_events(ws, 2)
        assert await expect_silence(ws) == []

    assert test_message.status_code == 202
    assert (down["data"]["metric"], down["data"]["value"], down["data"]["status"]) == ("monitor_up", 0.0, "firing")
    assert (up["data"]["status"], up["data"]["resolved_at"]) == ("resolved", "2025-01-17T10:47:30.004Z")


def _test_alert(instance: str) -> dict[str, Any]:
    """The made-up alert a receiver test sends (Grafana's contact point, Grafana-based Alertmanagers)."""
    made_up = {
        "labels": {"alertname": "TestAlert", "instance": instance},
        "annotations": {"summary": "Notification test"},
    }
    return am_alert("57c6d9296de2ad39") | made_up


def _with_test_alert(instance: str) -> dict[str, Any]:
    return am_group(am_alert("real", value="3"), _test_alert(instance))


_TEST_NOTIFICATIONS = {
    "grafana-contact-point": ("/api/webhooks/grafana", fixture_bytes("grafana/unified_test_notification.json")),
    "grafana-legacy-rule-0": ("/api/webhooks/grafana", fixture_bytes("grafana/legacy_test_notification.json")),
    "grafana-legacy-random-rule-id": (
        "/api/webhooks/grafana",
        fixture_bytes("grafana/legacy_test_notification.json").replace(b'"ruleId":0', b'"ruleId":7008839925862512012'),
    ),
    "alertmanager-receiver-test": (
        "/api/webhooks/alertmanager",
        json.dumps(am_group(_test_alert("Alertmanager"))).encode(),
    ),
    "uptime-kuma": ("/api/webhooks/uptime-kuma", fixture_bytes("uptime_kuma/test_notification.json")),
}


@pytest.mark.parametrize("sender", list(_TEST_NOTIFICATIONS))
async def test_a_senders_test_notification_is_acknowledged_and_stored_as_nothing(
    server: RunningServer, http: httpx.AsyncClient, database_url: str, sender: str
) -> None:
    path, body = _TEST_NOTIFICATIONS[sender]
    async with await open_stream(server.ws, token()) as ws:
        await receive(ws)
        response = await http.post(path, content=body)
        assert await expect_silence(ws) == []

    assert response.status_code == 202, response.text
    assert response.json()["status"] == "ignored"
    assert count(database_url, "alerts") == count(database_url, "events") == 0
    assert rows(database_url, "SELECT outcome FROM webhook_deliveries") == [("ignored",)]


async def test_a_test_alert_beside_real_ones_is_left_out_and_the_real_ones_stored(
    server: RunningServer, http: httpx.AsyncClient, database_url: str
) -> None:
    response = await http.post("/api/webhooks/alertmanager", json=_with_test_alert("Grafana"))

    assert response.json() == {"status": "stored", "events": 1}
    assert rows(database_url, "SELECT id FROM alerts") == [("alert-alertmanager-real",)]


async def test_subscribers_and_the_api_read_summary_description_and_labels_as_plain_text(
    server: RunningServer, http: httpx.AsyncClient
) -> None:
    sent = am_alert("fp1", team="<b>platform</b>")
    sent["annotations"] |= {
        "summary": "Disk <i>full</i> on db-01 &amp; db-02",
        "description": "Free space below 5%<script>alert(1)</script>\nSee the runbook.",
    }
    async with await open_stream(server.ws, token()) as ws:
        await receive(ws)
        await http.post("/api/webhooks/alertmanager", json=am_group(sent))
        [message] = await receive_events(ws, 1)
    read = (await http.get("/api/alerts/alert-alertmanager-fp1", headers={"Authorization": f"Bearer {token()}"})).json()

    data = message["data"]
    assert data["summary"] == "Disk full on db-01 & db-02"
    assert data["description"] == "Free space below 5%\nSee the runbook."
    assert data["labels"]["team"] == "platform"
    assert {key: read[key] for key in ("summary", "description", "labels")} == {
        key: data[key] for key in ("summary", "description", "labels")
    }


async def test_an_alert_with_huge_texts_fits_one_message_cut_with_the_marker_and_a_repeat_sends_nothing(
    server: RunningServer, http: httpx.AsyncClient
) -> None:
    """Quotes and newlines double once escaped; a hundred labels of a kilobyte each: the
    message stays under 10 KB, the texts are cut with the marker, and the same alert sent
    again is cut the same way, so it compares equal to what is stored."""
    sent = am_alert("fp1", **{f"label_{i:03d}": "v" * 1024 for i in range(90)})
    sent["annotations"] |= {"summary": '"quoted" ' * 600, "description": 'line "one"\n' * 5000}
    async with await open_stream(server.ws, token()) as ws:
        await receive(ws)
        first = await http.post("/api/webhooks/alertmanager", json=am_group(sent))
        raw = await asyncio.wait_for(ws.recv(), 10)
        repeat = await http.post("/api/webhooks/alertmanager", json=am_group(sent))
        assert await expect_silence(ws) == []

    assert len(raw.encode() if isinstance(raw, str) else raw) < 10 * 1024
    data = json.loads(raw)["data"]
    assert data["description"].endswith(TRUNCATION_MARKER)
    assert data["summary"].endswith(TRUNCATION_MARKER)
    assert {"alertname", "env", "severity", "squad"} <= set(data["labels"])
    assert all(len(value.encode()) <= 256 for value in data["labels"].values())
    assert (first.json()["events"], repeat.json()["events"]) == (1, 0)


async def test_cloudwatch_through_sns_confirms_the_subscription_then_takes_alarms(
    database_url: str, tmp_path: Path
) -> None:
    with recording_server() as sns:
        settings = make_settings(database_url, tmp_path, sns_subscribe_url_pattern=r"^http://127\.0\.0\.1:\d+/")
        confirmation = fixture_json("cloudwatch/subscription_confirmation.json")
        confirmation["SubscribeURL"] = f"{sns.base}/?Action=ConfirmSubscription&Token=abc"
        headers = fixture_json("cloudwatch/alarm_notification.headers.json")
        with server_in_thread(settings) as running:
            async with httpx.AsyncClient(base_url=running.http) as http, await open_stream(running.ws, token()) as ws:
                await receive(ws)
                subscribed = await http.post("/api/webhooks/cloudwatch", json=confirmation)
                visited = await sns.visited(1)
                alarm = await http.post(
                    "/api/webhooks/cloudwatch",
                    content=fixture_bytes("cloudwatch/alarm_notification.json"),
                    headers=headers,
                )
                redelivered = await http.post(
                    "/api/webhooks/cloudwatch",
                    content=fixture_bytes("cloudwatch/alarm_notification.json"),
                    headers=headers,
                )
                ok = await http.post(
                    "/api/webhooks/cloudwatch",
                    content=fixture_bytes("cloudwatch/ok_notification.json"),
                    headers=fixture_json("cloudwatch/ok_notification.headers.json"),
                )
                fired, resolved = await receive_events(ws, 2)

    assert subscribed.status_code == 202
    assert subscribed.json() == {"status": "accepted", "event": "sns subscription confirmation"}
    assert visited == ["/?Action=ConfirmSubscription&Token=abc"]
    assert (alarm.json()["events"], redelivered.json()["status"], ok.json()["events"]) == (1, "duplicate", 1)
    assert fired["data"]["metric"] == "CPUUtilization"
    assert (fired["data"]["severity"], fired["data"]["value"], fired["data"]["threshold"]) == (
        "critical", 93.41666666666667, 80.0,
    )  # fmt: skip
    assert (resolved["data"]["status"], resolved["data"]["resolved_at"]) == ("resolved", "2025-01-17T11:21:12.113Z")


async def test_an_sns_confirmation_that_fails_is_tried_again_then_recorded_as_failed(
    database_url: str, tmp_path: Path
) -> None:
    with recording_server() as sns:
        sns.status = 403
        settings = make_settings(
            database_url,
            tmp_path,
            sns_subscribe_url_pattern=r"^http://127\.0\.0\.1:\d+/",
            sns_confirmation_retry_seconds=0.1,
        )
        confirmation = fixture_json("cloudwatch/subscription_confirmation.json")
        confirmation["SubscribeURL"] = f"{sns.base}/?Action=ConfirmSubscription"
        with (
            watching("app.outbound.queue", lambda message: "giving up" in message) as given_up,
            server_in_thread(settings) as running,
        ):
            async with httpx.AsyncClient(base_url=running.http) as http:
                response = await http.post("/api/webhooks/cloudwatch", json=confirmation)
                await given_up.wait()

    assert response.status_code == 202
    assert len(sns.paths) == 4  # the first visit and three more, as SNS retries an error answer
    [(outcome, error)] = rows(database_url, "SELECT outcome, error FROM webhook_deliveries")
    assert outcome == "rejected"
    assert error == "sns subscription confirmation failed: SNS answered 403 to the subscription confirmation"


async def test_query_parameters_give_the_defaults_a_payload_leaves_out(
    server: RunningServer, http: httpx.AsyncClient
) -> None:
    alarm = fixture_json("cloudwatch/alarm_notification.json")
    message = json.loads(alarm["Message"])
    message["AlarmDescription"] = "no tokens here"
    alarm["Message"] = json.dumps(message)
    async with await open_stream(server.ws, token()) as ws:
        await receive(ws)
        await http.post("/api/webhooks/cloudwatch?environment=stg&squad=data&severity=low", json=alarm)
        [fired] = await receive_events(ws, 1)

    assert (fired["data"]["environment"], fired["data"]["severity"]) == ("staging", "low")


MALFORMED = [
    ("/api/webhooks/alertmanager", b'{"alerts": [{"status": "firing"}]}', 422, "alerts[0].labels"),
    ("/api/webhooks/alertmanager", b"[1, 2]", 422, "JSON object"),
    ("/api/webhooks/grafana", b'{"title": "hello"}', 422, "neither 'alerts'"),
    ("/api/webhooks/grafana", b'{"alerts": [{"status": "firing", "labels": {}}]}', 422, "labels' is missing"),
    ("/api/webhooks/alerts", b'{"metric": "cpu", "value": "high"}', 422, "'value' must be a finite number"),
    ("/api/webhooks/alerts", b'{"metric": "cpu"', 400, "not valid JSON"),
    ("/api/webhooks/uptime-kuma", b'{"heartbeat": {"status": 7}}', 422, "heartbeat.status"),
    ("/api/webhooks/uptime-kuma", b'{"heartbeat": {"status": 0}, "monitor": {}}', 422, "which monitor"),
    ("/api/webhooks/cloudwatch", b'{"Type": "Notification"}', 422, "TopicArn"),
    ("/api/webhooks/cloudwatch", b'{"TopicArn": "arn:x", "Type": "Weather"}', 422, "'Type' must be"),
    ("/api/webhooks/alertmanager?severity=huge", b'{"alerts": []}', 422, "query parameter 'severity'"),
]


@pytest.mark.parametrize(("path", "body", "status", "problem"), MALFORMED)
async def test_malformed_bodies_get_a_4xx_naming_the_problem_and_store_nothing(
    server: RunningServer, http: httpx.AsyncClient, database_url: str, path: str, body: bytes, status: int, problem: str
) -> None:
    async with await open_stream(server.ws, token()) as ws:
        await receive(ws)
        response = await http.post(path, content=body)
        assert await expect_silence(ws) == []

    assert response.status_code == status
    assert problem in response.json()["error"]["message"]
    assert count(database_url, "alerts") + count(database_url, "events") == 0


async def test_a_database_failure_is_answered_503_and_nothing_is_stored(
    server: RunningServer, http: httpx.AsyncClient, database_url: str
) -> None:
    name = database_url.rsplit("/", 1)[1].split("?")[0]
    admin_url = database_url.replace(f"/{name}", "/postgres", 1)
    with psycopg.connect(admin_url, autocommit=True) as admin:
        admin.execute(f'ALTER DATABASE "{name}" ALLOW_CONNECTIONS false')
        admin.execute("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = %s", (name,))
        try:
            response = await http.post(
                "/api/webhooks/alertmanager", content=fixture_bytes("alertmanager/firing_group_three_alerts.json")
            )
        finally:
            admin.execute(f'ALTER DATABASE "{name}" ALLOW_CONNECTIONS true')

    assert response.status_code == 503
    assert response.json()["error"]["code"] == "DATABASE_UNAVAILABLE"
    assert rows(database_url, "SELECT count(*) FROM alerts") == [(0,)]
