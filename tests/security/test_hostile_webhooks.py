"""Hostile traffic at the webhooks, one test per attack (docs/security.md, "Hostile
traffic"): each runs against a real server on a real socket, and states what
must happen."""

from __future__ import annotations

import asyncio
import json
import logging
from pathlib import Path
from typing import Any

import httpx
import pytest

from app.auth.webhook_signatures import hmac_sha256_hex
from app.config import load_settings
from tests.conftest import JWT_SECRET, make_settings, token
from tests.support.alerts import rows
from tests.support.clients import fixture_json
from tests.support.jira import issue_event
from tests.support.loopback import recording_server, tarpit
from tests.support.server import server_in_thread, server_process

STRONG_JIRA_SECRET = "9f2c1e7a4b8d06e35a1f9c2b7d4e8a0c6b3f1d9e"
STRONG_TOKEN = "t0k-4e9a1c7f2b8d5e3a6c0f9b1d"


def _confirmation(url: str, number: int = 0) -> dict[str, Any]:
    body: dict[str, Any] = fixture_json("cloudwatch/subscription_confirmation.json")
    body["SubscribeURL"] = url
    body["MessageId"] = f"confirmation-{number}"
    return body


@pytest.mark.timeout(120)
async def test_sns_confirmations_against_an_unreachable_host_hold_no_database_connection(
    database_url: str, tmp_path: Path
) -> None:
    # 25 confirmations whose SNS never answers once held the whole pool (20) for the
    # GET's 10 s: REST, webhooks and /readyz answered 503. Now each is stored and
    # answered at once, and a few workers wait on SNS without a connection.
    async with tarpit() as sns:
        settings = make_settings(
            database_url,
            tmp_path,
            sns_subscribe_url_pattern=r"^http://127\.0\.0\.1:\d+/",
            sns_confirmation_retry_seconds=600,
        )
        with server_in_thread(settings) as running:
            async with httpx.AsyncClient(base_url=running.http, timeout=30) as http:
                answers = await asyncio.gather(
                    *(
                        http.post("/api/webhooks/cloudwatch", json=_confirmation(f"{sns.base}/?n={n}", n))
                        for n in range(25)
                    )
                )
                assert [answer.status_code for answer in answers] == [202] * 25  # stored, answered at once
                await sns.holding(4)  # the queue's workers, each waiting on SNS
                ready = await http.get("/readyz")
                read = await http.get("/api/incidents", headers={"Authorization": f"Bearer {token()}"})
                delivery = await http.post("/api/webhooks/jira", json=issue_event(1))
                most_open = sns.most_open

    assert (ready.status_code, read.status_code, delivery.status_code) == (200, 200, 200)
    assert most_open <= 4  # bounded: the workers, not one call per request
    assert rows(database_url, "SELECT count(*) FROM webhook_deliveries WHERE sender = 'cloudwatch'") == [(25,)]


async def test_a_blank_jira_secret_is_unset_not_a_key_anyone_can_sign_with(
    database_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    # `JIRA_WEBHOOK_SECRET=` as an .env template leaves it: once an empty HMAC key that
    # anyone could sign with (and `?secret=` matched it), with no warning at all.
    monkeypatch.setenv("JIRA_WEBHOOK_SECRET", "")
    with caplog.at_level(logging.WARNING, logger="app.config"):
        warned = load_settings(database_url=database_url, data_dir=tmp_path / "data", jwt_secret=JWT_SECRET)
    monkeypatch.setenv("JIRA_WEBHOOK_TOKEN", STRONG_TOKEN)
    settings = load_settings(database_url=database_url, data_dir=tmp_path / "data", jwt_secret=JWT_SECRET)
    body = json.dumps(issue_event(1)).encode()
    with server_in_thread(settings) as running:
        async with httpx.AsyncClient(base_url=running.http) as http:
            signed_with_nothing = await http.post(
                "/api/webhooks/jira",
                content=body,
                headers={"Content-Type": "application/json", "X-Hub-Signature": "sha256=" + hmac_sha256_hex("", body)},
            )
            empty_secret = await http.post("/api/webhooks/jira?secret=", content=body)
            with_token = await http.post(
                "/api/webhooks/jira", content=body, headers={"X-Ops-Bridge-Token": STRONG_TOKEN}
            )

    assert warned.jira_webhook_secret is None
    assert "JIRA_WEBHOOK_SECRET is not set: webhooks are accepted unauthenticated" in caplog.text
    assert (signed_with_nothing.status_code, empty_secret.status_code) == (401, 401)
    assert with_token.status_code == 200


async def test_unauthenticated_posts_cannot_spend_a_senders_rate_budget(database_url: str, tmp_path: Path) -> None:
    # 48 unauthenticated posts in parallel once made signed Jira deliveries get 429.
    settings = make_settings(
        database_url,
        tmp_path,
        jira_webhook_secret=STRONG_JIRA_SECRET,
        webhook_rate_limit_per_second=1,  # bursts of 2
        webhook_auth_failures_per_minute=10,
    )
    with server_in_thread(settings) as running:
        async with httpx.AsyncClient(base_url=running.http, timeout=30) as http:
            flood = await asyncio.gather(*(http.post("/api/webhooks/jira", json=issue_event(n)) for n in range(48)))
            signed = []
            for number in (100, 101):
                body = json.dumps(issue_event(number)).encode()
                signature = "sha256=" + hmac_sha256_hex(STRONG_JIRA_SECRET, body)
                signed.append(
                    await http.post(
                        "/api/webhooks/jira",
                        content=body,
                        headers={"Content-Type": "application/json", "X-Hub-Signature": signature},
                    )
                )

    assert [answer.status_code for answer in signed] == [200, 200]
    statuses = [answer.status_code for answer in flood]
    # Failures have a budget of their own, per client address: 10 a minute, then 429.
    assert set(statuses) == {401, 429}
    assert 10 <= statuses.count(401) <= 12
    assert all(answer.headers.get("Retry-After") for answer in flood if answer.status_code == 429)


@pytest.mark.parametrize(
    ("url", "why"),
    [
        pytest.param("https://sns.s3.amazonaws.com/?Action=ConfirmSubscription", "an S3 bucket", id="s3-bucket"),
        pytest.param("https://sns.s3-us-west-2.amazonaws.com/?Action=Confirm", "an S3 bucket", id="s3-legacy"),
        pytest.param("https://sns.eu-west-1.amazonaws.com/?Action=Confirm\nX", "a newline", id="newline"),
        pytest.param("https://sns.eu-west-1.amazonaws.com/?Action=Confirm\\x", "a backslash", id="backslash"),
        pytest.param("https://sns.eu-west-1.amazonaws.com/\t?Action=Confirm", "a tab", id="tab"),
    ],
)
async def test_an_sns_subscribe_url_off_snss_own_hosts_is_refused_and_never_visited(
    database_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, url: str, why: str
) -> None:
    # Any name under amazonaws.com matched (sns.s3.amazonaws.com is a bucket anyone can
    # own); a newline reached the HTTP client and came back as a 500.
    with recording_server() as proxy:
        # Whatever the service would visit goes through this proxy, which records and
        # refuses it: nothing leaves the machine, and an attempt is seen.
        monkeypatch.setenv("HTTPS_PROXY", proxy.base)
        monkeypatch.delenv("NO_PROXY", raising=False)
        with server_in_thread(make_settings(database_url, tmp_path)) as running:
            async with httpx.AsyncClient(base_url=running.http) as http:
                answer = await http.post("/api/webhooks/cloudwatch", json=_confirmation(url))

    assert answer.status_code == 422, why
    assert answer.json()["error"]["message"] == "'SubscribeURL' is not an SNS address this service will visit"
    assert proxy.paths == []


@pytest.mark.timeout(120)
async def test_a_percent_encoded_secret_parameter_is_redacted_from_the_access_log(
    database_url: str, tmp_path: Path
) -> None:
    # `?%73ecret=` is `?secret=` to the webhook, and was written in clear to the access log.
    env = {"DATABASE_URL": database_url, "JWT_SECRET": JWT_SECRET, "JIRA_WEBHOOK_SECRET": STRONG_JIRA_SECRET}
    with server_process(env, cwd=str(tmp_path)) as running:
        async with httpx.AsyncClient(base_url=running.http) as http:
            answers = [
                await http.post(f"/api/webhooks/jira?{name}={STRONG_JIRA_SECRET}", json=issue_event(number))
                for number, name in enumerate(("%73ecret", "%53ECRET", "secre%74", "%2573ecret", "to%6Ben"))
            ]
            # Every line of those requests is out once a later request is answered.
            await http.get("/healthz")
        running.terminate()

    log = "".join(running.output)
    # The webhook reads names percent-decoded once and case-sensitively; the log hides them all.
    assert [answer.status_code for answer in answers] == [200, 401, 200, 401, 200]
    assert "/api/webhooks/jira?%73ecret=[redacted]" in log
    assert STRONG_JIRA_SECRET not in log
