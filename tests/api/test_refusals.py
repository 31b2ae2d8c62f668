"""A delivery refused for its size is never lost quietly: the sender's limit is
sized for whole alert groups, and a refusal is a WARNING with the sender and
size, a counter an operator can alert on from the first refusal, and a row
`ops-bridge deliveries --failed` lists."""

from __future__ import annotations

import logging
from pathlib import Path

import httpx
import orjson
import pytest

from app.observability.metrics import WEBHOOK_REFUSALS, WEBHOOK_SENDERS, WEBHOOKS_REFUSED
from tests.conftest import JWT_SECRET, make_settings
from tests.support.alerts import am_alert, am_group, count, rows
from tests.support.cli import run_cli
from tests.support.scrape import scrape
from tests.support.server import server_in_thread

TOKEN = "alertmanager-token-0123456789abcdef"
AM = "/api/webhooks/alertmanager"
_LIMIT = 64 * 1024


def _group_over(limit: int) -> bytes:
    alerts: list[dict[str, object]] = []
    body = b""
    while len(body) <= limit:
        alerts.append(am_alert(f"fp{len(alerts)}"))
        body = orjson.dumps(am_group(*alerts))
    return body


async def test_a_group_over_its_limit_is_refused_loudly_counted_and_listed_as_failed(
    database_url: str, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    settings = make_settings(database_url, tmp_path, alert_webhook_token=TOKEN, max_alert_body_bytes=_LIMIT)
    body = _group_over(_LIMIT)
    with caplog.at_level(logging.INFO, logger="app.webhooks"), server_in_thread(settings) as running:
        async with httpx.AsyncClient(base_url=running.http) as http:
            before = await scrape(http)
            response = await http.post(AM, content=body, headers={"Authorization": f"Bearer {TOKEN}"})
            after = await scrape(http)

    assert response.status_code == 413
    assert response.json()["error"]["message"] == (
        f"body of {len(body)} bytes is larger than {_LIMIT} bytes (MAX_ALERT_BODY_BYTES)"
    )
    [line] = [r for r in caplog.records if r.name == "app.webhooks"]
    assert (line.levelno, line.fields["sender"], line.fields["outcome"]) == (  # type: ignore[attr-defined]
        logging.WARNING, "alertmanager", "too_large",
    )  # fmt: skip
    assert str(len(body)) in line.fields["detail"]  # type: ignore[attr-defined]
    refused = {"sender": "alertmanager", "reason": "too_large"}
    assert before.value("ops_bridge_webhooks_refused_total", **refused) + 1 == after.value(
        "ops_bridge_webhooks_refused_total", **refused
    )
    listed = run_cli(
        "deliveries", "--failed", env={"DATABASE_URL": database_url, "JWT_SECRET": JWT_SECRET}, cwd=tmp_path
    )
    assert listed.returncode == 0, listed.stderr
    first, error, summary = listed.stdout.splitlines()
    assert "alertmanager  refused" in first
    assert error == f"    body of {len(body)} bytes is larger than {_LIMIT} bytes (MAX_ALERT_BODY_BYTES)"
    assert summary == "1 delivery"
    assert count(database_url, "alerts") == count(database_url, "events") == 0


def test_every_refusal_series_exists_before_the_first_refusal() -> None:
    """`increase()` over a series that appears with its first sample misses that sample: an
    alert on refusals must see the very first one."""
    present = {
        (sample.labels["sender"], sample.labels["reason"])
        for family in WEBHOOKS_REFUSED.collect()
        for sample in family.samples
        if sample.name.endswith("_total")
    }
    assert present >= {(sender, reason) for sender in WEBHOOK_SENDERS for reason in WEBHOOK_REFUSALS}


async def test_a_refusal_without_credentials_is_counted_but_keeps_no_row(database_url: str, tmp_path: Path) -> None:
    settings = make_settings(database_url, tmp_path, alert_webhook_token=TOKEN, max_alert_body_bytes=_LIMIT)
    with server_in_thread(settings) as running:
        async with httpx.AsyncClient(base_url=running.http) as http:
            anonymous = await http.post(AM, content=_group_over(_LIMIT))

    assert anonymous.status_code == 413
    assert count(database_url, "webhook_deliveries") == 0


async def test_group_senders_take_a_whole_group_other_senders_keep_the_general_limit(
    database_url: str, tmp_path: Path
) -> None:
    """MAX_ALERT_BODY_BYTES (16 MiB by default) bounds Alertmanager and Grafana, whose one
    notification carries a whole group; everything else keeps MAX_WEBHOOK_BODY_BYTES."""
    settings = make_settings(database_url, tmp_path, max_webhook_body_bytes=_LIMIT)
    body = _group_over(4 * _LIMIT)
    with server_in_thread(settings) as running:
        async with httpx.AsyncClient(base_url=running.http, timeout=60) as http:
            group = await http.post(AM, content=body)
            generic = await http.post("/api/webhooks/alerts", content=b"[" + b"0," * _LIMIT + b"0]")

    assert group.status_code == 200, group.text
    assert group.json()["events"] == len(orjson.loads(body)["alerts"])
    assert generic.status_code == 413
    assert rows(database_url, "SELECT sender, outcome FROM webhook_deliveries ORDER BY id") == [
        ("alertmanager", "applied"),
        ("generic", "refused"),
    ]
