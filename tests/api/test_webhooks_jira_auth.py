"""Who may deliver to the Jira endpoint: a valid signature, or the shared token where a sender cannot sign."""

from __future__ import annotations

import base64
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest

from app.auth.webhook_signatures import hmac_sha256_hex
from tests.conftest import make_settings, token
from tests.support.clients import expect_silence, fixture_bytes, open_stream, receive
from tests.support.deliveries import AUTOMATION_TOKEN, FIXTURE_SECRET, JIRA, count, fixture_headers, nothing_stored
from tests.support.server import RunningServer, server_in_thread

CLOUD = "jira_cloud/issue_created_incident_highest.json"
DATACENTER = "jira_datacenter/issue_created_incident.json"
AUTOMATION = "jira_automation/send_web_request_issue_data_jira_format.json"


@pytest.fixture
async def guarded(database_url: str, tmp_path: Path) -> AsyncIterator[tuple[RunningServer, httpx.AsyncClient]]:
    """The service with JIRA_WEBHOOK_SECRET and JIRA_WEBHOOK_TOKEN set."""
    settings = make_settings(
        database_url, tmp_path, jira_webhook_secret=FIXTURE_SECRET, jira_webhook_token=AUTOMATION_TOKEN
    )
    with server_in_thread(settings) as running:
        async with httpx.AsyncClient(base_url=running.http) as http:
            yield running, http


def _signature(body: bytes, secret: str = FIXTURE_SECRET) -> str:
    return "sha256=" + hmac_sha256_hex(secret, body)


def _basic(password: str) -> str:
    return "Basic " + base64.b64encode(f"jira:{password}".encode()).decode()


@pytest.mark.parametrize("name", [CLOUD, DATACENTER])
async def test_a_delivery_signed_by_jira_is_stored(guarded: tuple[RunningServer, httpx.AsyncClient], name: str) -> None:
    _, http = guarded
    response = await http.post(JIRA, content=fixture_bytes(name), headers=fixture_headers(name))

    assert response.status_code == 200
    assert response.json()["status"] == "stored"


@pytest.mark.parametrize(
    ("headers", "path"),
    [
        ({}, JIRA),
        ({"X-Hub-Signature": "sha256=" + "0" * 64}, JIRA),
        ({"X-Hub-Signature": "sha256=not-hex"}, JIRA),
        ({"X-Hub-Signature": "sha1=" + "0" * 40}, JIRA),
        ({"X-Hub-Signature": "SIGNED_WITH_ANOTHER_SECRET"}, JIRA),
        ({"X-Automation-Webhook-Token": "guess"}, JIRA),
        ({"Authorization": "Bearer guess"}, JIRA),
        ({}, JIRA + "?secret=guess"),
    ],
    ids=[
        "missing",
        "forged",
        "not-hex",
        "other-algorithm",
        "another-secret",
        "wrong-token",
        "wrong-bearer",
        "wrong-query",
    ],
)
async def test_without_a_valid_signature_or_token_a_delivery_gets_401_and_changes_nothing(
    guarded: tuple[RunningServer, httpx.AsyncClient], database_url: str, headers: dict[str, str], path: str
) -> None:
    running, http = guarded
    body = fixture_bytes(CLOUD)
    if headers.get("X-Hub-Signature") == "SIGNED_WITH_ANOTHER_SECRET":
        headers = {"X-Hub-Signature": _signature(body, "another-secret")}
    async with await open_stream(running.ws, token(roles=("admin",))) as ws:
        await receive(ws)
        response = await http.post(path, content=body, headers=headers)
        assert await expect_silence(ws) == []

    assert response.status_code == 401
    assert response.json()["error"]["code"] == "UNAUTHENTICATED"
    assert FIXTURE_SECRET not in response.text
    assert AUTOMATION_TOKEN not in response.text
    assert nothing_stored(database_url)
    assert count(database_url, "webhook_deliveries") == 0


async def test_a_signature_over_other_bytes_is_refused(
    guarded: tuple[RunningServer, httpx.AsyncClient], database_url: str
) -> None:
    """The signature covers the raw body: re-serialized JSON with the same meaning does not pass."""
    _, http = guarded
    body = fixture_bytes(CLOUD)
    response = await http.post(JIRA, content=body.replace(b'"Highest"', b'"Lowest"'), headers=fixture_headers(CLOUD))

    assert response.status_code == 401
    assert nothing_stored(database_url)


@pytest.mark.parametrize(
    ("headers", "query"),
    [
        ({"X-Automation-Webhook-Token": AUTOMATION_TOKEN}, ""),
        ({"X-Ops-Bridge-Token": AUTOMATION_TOKEN}, ""),
        ({"Authorization": f"Bearer {AUTOMATION_TOKEN}"}, ""),
        ({"Authorization": _basic(AUTOMATION_TOKEN)}, ""),
        ({}, f"?secret={AUTOMATION_TOKEN}"),
        ({}, f"?token={AUTOMATION_TOKEN}"),
        ({"X-Ops-Bridge-Token": FIXTURE_SECRET}, ""),
        ({}, f"?secret={FIXTURE_SECRET}"),
    ],
    ids=[
        "automation-header",
        "ops-bridge-header",
        "bearer",
        "basic-password",
        "query-secret",
        "query-token",
        "the-secret-as-token",
        "the-secret-in-query",
    ],
)
async def test_a_sender_that_cannot_sign_may_present_the_token_instead(
    guarded: tuple[RunningServer, httpx.AsyncClient], headers: dict[str, str], query: str
) -> None:
    _, http = guarded
    # Automation sends issue data; Server webhooks, which present the secret in their URL, an envelope.
    body = DATACENTER if FIXTURE_SECRET in (headers.get("X-Ops-Bridge-Token", "") + query) else AUTOMATION
    response = await http.post(JIRA + query, content=fixture_bytes(body), headers=headers)

    assert response.status_code == 200
    assert response.json()["status"] == "stored"


@pytest.mark.parametrize("credential", ["signature", "the-secret-as-token", "the-secret-in-query"])
async def test_issue_data_without_the_automation_token_is_refused_and_creates_nothing(
    guarded: tuple[RunningServer, httpx.AsyncClient], database_url: str, credential: str
) -> None:
    """A body without `webhookEvent` creates the issue it describes only when it comes with
    JIRA_WEBHOOK_TOKEN: the system webhook's secret vouches for the sender, not for the shape."""
    running, http = guarded
    body = fixture_bytes(AUTOMATION)
    headers, query = {
        "signature": ({"X-Hub-Signature": _signature(body)}, ""),
        "the-secret-as-token": ({"X-Ops-Bridge-Token": FIXTURE_SECRET}, ""),
        "the-secret-in-query": ({}, f"?secret={FIXTURE_SECRET}"),
    }[credential]
    async with await open_stream(running.ws, token()) as ws:
        await receive(ws)
        response = await http.post(JIRA + query, content=body, headers=headers)
        assert await expect_silence(ws) == []

    assert response.status_code == 422
    assert "JIRA_WEBHOOK_TOKEN" in response.json()["error"]["message"]
    assert nothing_stored(database_url)


async def test_only_the_token_set_is_enough_to_require_one(database_url: str, tmp_path: Path) -> None:
    settings = make_settings(database_url, tmp_path, jira_webhook_token=AUTOMATION_TOKEN)
    with server_in_thread(settings) as running:
        async with httpx.AsyncClient(base_url=running.http) as http:
            anonymous = await http.post(JIRA, content=fixture_bytes(AUTOMATION))
            with_token = await http.post(
                JIRA, content=fixture_bytes(AUTOMATION), headers={"X-Automation-Webhook-Token": AUTOMATION_TOKEN}
            )

    assert (anonymous.status_code, with_token.status_code) == (401, 200)


async def test_with_no_secret_and_no_token_set_deliveries_are_accepted_as_they_come(
    server: RunningServer, http: httpx.AsyncClient
) -> None:
    response = await http.post(JIRA, content=fixture_bytes(CLOUD))

    assert response.status_code == 200
