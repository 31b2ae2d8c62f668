"""Monitoring senders authenticate: ALERT_WEBHOOK_TOKEN as bearer or basic-auth
password, Grafana's HMAC signature with its replay-proof timestamp."""

from __future__ import annotations

import base64
import time
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest

from app.auth.webhook_signatures import hmac_sha256_hex
from tests.conftest import make_settings
from tests.support.alerts import count
from tests.support.clients import fixture_bytes, fixture_json
from tests.support.server import server_in_thread

TOKEN = "am-bridge-7c1e44d2b0"
SECRET = "fixture-secret"

ROUTES = [
    ("/api/webhooks/alertmanager", "alertmanager/firing_group_three_alerts.json"),
    ("/api/webhooks/grafana", "grafana/legacy_alerting.json"),
    ("/api/webhooks/alerts", "generic/single.json"),
    ("/api/webhooks/uptime-kuma", "uptime_kuma/monitor_down.json"),
    ("/api/webhooks/cloudwatch", "cloudwatch/alarm_notification.json"),
]


@pytest.fixture
async def guarded(database_url: str, tmp_path: Path) -> AsyncIterator[httpx.AsyncClient]:
    settings = make_settings(database_url, tmp_path, alert_webhook_token=TOKEN)
    with server_in_thread(settings) as running:
        async with httpx.AsyncClient(base_url=running.http) as client:
            yield client


@pytest.fixture
async def signed(database_url: str, tmp_path: Path) -> AsyncIterator[httpx.AsyncClient]:
    settings = make_settings(database_url, tmp_path, grafana_webhook_secret=SECRET, alert_webhook_token=TOKEN)
    with server_in_thread(settings) as running:
        async with httpx.AsyncClient(base_url=running.http) as client:
            yield client


def _basic(password: str) -> str:
    return "Basic " + base64.b64encode(f"alertmanager:{password}".encode()).decode()


@pytest.mark.parametrize(("path", "fixture"), ROUTES)
async def test_missing_or_wrong_credentials_get_401_and_store_nothing(
    guarded: httpx.AsyncClient, database_url: str, path: str, fixture: str
) -> None:
    body = fixture_bytes(fixture)
    missing = await guarded.post(path, content=body)
    wrong_bearer = await guarded.post(path, content=body, headers={"Authorization": "Bearer nope"})
    wrong_basic = await guarded.post(path, content=body, headers={"Authorization": _basic("nope")})

    assert (missing.status_code, wrong_bearer.status_code, wrong_basic.status_code) == (401, 401, 401)
    assert TOKEN not in missing.text
    assert "ALERT_WEBHOOK_TOKEN" in missing.json()["error"]["message"]
    assert (
        count(database_url, "webhook_deliveries") + count(database_url, "alerts") + count(database_url, "events") == 0
    )


@pytest.mark.parametrize(("path", "fixture"), ROUTES)
async def test_the_token_is_accepted_as_bearer_token_or_basic_auth_password(
    guarded: httpx.AsyncClient, database_url: str, path: str, fixture: str
) -> None:
    bearer = await guarded.post(path, content=fixture_bytes(fixture), headers={"Authorization": f"Bearer {TOKEN}"})
    basic = await guarded.post(path, content=fixture_bytes(fixture), headers={"Authorization": _basic(TOKEN)})

    assert (bearer.status_code, basic.status_code) == (200, 200)
    assert count(database_url, "alerts") >= 1


async def test_sns_is_challenged_for_basic_auth(guarded: httpx.AsyncClient) -> None:
    response = await guarded.post(
        "/api/webhooks/cloudwatch", content=fixture_bytes("cloudwatch/alarm_notification.json")
    )

    assert response.status_code == 401
    assert response.headers["www-authenticate"].startswith("Basic")


async def test_a_grafana_delivery_signed_over_its_body_is_accepted_and_a_forged_one_is_not(
    signed: httpx.AsyncClient, database_url: str
) -> None:
    body = fixture_bytes("grafana/unified_firing_two_alerts.json")
    headers = fixture_json("grafana/unified_firing_two_alerts.headers.json")

    accepted = await signed.post("/api/webhooks/grafana", content=body, headers=headers)
    forged = await signed.post("/api/webhooks/grafana", content=body.replace(b"12.5%", b"99.9%"), headers=headers)

    assert accepted.status_code == 200
    assert forged.status_code == 401
    assert count(database_url, "webhook_deliveries") == 1


async def test_a_timestamped_grafana_signature_is_accepted_while_fresh_and_refused_when_replayed_late(
    signed: httpx.AsyncClient, database_url: str
) -> None:
    body = fixture_bytes("grafana/unified_firing_two_alerts.json")

    def headers(stamp: int) -> dict[str, str]:
        signature = hmac_sha256_hex(SECRET, f"{stamp}:".encode() + body)
        return {"X-Grafana-Alerting-Signature": signature, "X-Grafana-Alerting-Timestamp": str(stamp)}

    fresh = await signed.post("/api/webhooks/grafana", content=body, headers=headers(int(time.time())))
    replayed = await signed.post("/api/webhooks/grafana", content=body, headers=headers(int(time.time()) - 3600))
    body_only_signature_with_timestamp = await signed.post(
        "/api/webhooks/grafana",
        content=body,
        headers={
            "X-Grafana-Alerting-Signature": hmac_sha256_hex(SECRET, body),
            "X-Grafana-Alerting-Timestamp": str(int(time.time())),
        },
    )

    assert fresh.status_code == 200
    assert replayed.status_code == 401
    assert "window" in replayed.json()["error"]["message"]
    assert body_only_signature_with_timestamp.status_code == 401
    assert count(database_url, "webhook_deliveries") == 1


async def test_when_timestamps_are_required_a_signature_without_one_is_refused(
    database_url: str, tmp_path: Path
) -> None:
    settings = make_settings(database_url, tmp_path, grafana_webhook_secret=SECRET, grafana_require_timestamp=True)
    body = fixture_bytes("grafana/unified_firing_two_alerts.json")
    with server_in_thread(settings) as running:
        async with httpx.AsyncClient(base_url=running.http) as http:
            response = await http.post(
                "/api/webhooks/grafana",
                content=body,
                headers=fixture_json("grafana/unified_firing_two_alerts.headers.json"),
            )
            unsigned = await http.post("/api/webhooks/grafana", content=body)

    assert response.status_code == 401
    assert "timestamp" in response.json()["error"]["message"]
    assert unsigned.status_code == 401
    assert count(database_url, "alerts") == 0


async def test_legacy_grafana_which_cannot_sign_may_present_the_token_instead(signed: httpx.AsyncClient) -> None:
    body = fixture_bytes("grafana/legacy_alerting.json")

    with_token = await signed.post("/api/webhooks/grafana", content=body, headers={"Authorization": _basic(TOKEN)})
    without = await signed.post("/api/webhooks/grafana", content=body)

    assert (with_token.status_code, without.status_code) == (200, 401)
