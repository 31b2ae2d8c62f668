"""A real Alertmanager (0.25) in front of the service: alerts pushed to it as
Prometheus would, its webhook notifications into the service, the messages out
on a real socket. What a test with hand-written bodies cannot show: how
Alertmanager really groups, repeats, resolves and silences."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import orjson
import pytest

from app.clock import utcnow
from app.db.engine import create_engine
from app.ingest.transaction import write
from app.monitoring_jobs import age_alerts_now
from tests.conftest import make_settings, token
from tests.support.alertmanager import RunningAlertmanager, Timing, alert, alertmanager
from tests.support.alerts import count, rows
from tests.support.clients import expect_silence, open_stream, receive, receive_events
from tests.support.server import RunningServer, server_in_thread

TOKEN = "alertmanager-token-0123456789abcdef"
_WAIT = 30.0


@dataclass
class Bench:
    service: RunningServer
    am: RunningAlertmanager
    database_url: str


@pytest.fixture
def timing() -> Timing:
    return Timing()


@pytest.fixture
async def bench(database_url: str, tmp_path: Path, timing: Timing) -> AsyncIterator[Bench]:
    settings = make_settings(database_url, tmp_path, alert_webhook_token=TOKEN)
    with (
        server_in_thread(settings) as service,
        alertmanager(tmp_path, f"{service.http}/api/webhooks/alertmanager", token=TOKEN, timing=timing) as am,
    ):
        yield Bench(service, am, database_url)


def _pod_alert(index: int, *, name: str = "KubePodCrashLooping", **times: datetime) -> dict[str, object]:
    """About 1 KB once Alertmanager wraps it, like a kube-prometheus alert."""
    pod = f"checkout-api-7d9f8b6c4-{index:05d}"
    labels = {
        "alertname": name, "namespace": "shop", "pod": pod, "container": "checkout-api",
        "instance": f"10.42.{index // 250}.{index % 250}:8080", "job": "kube-state-metrics",
        "service": "kube-prometheus-stack-kube-state-metrics", "severity": "critical", "env": "prod",
        "squad": "checkout", "cluster": "eu-west-1-prod", "prometheus": "monitoring/kube-prometheus-stack",
    }  # fmt: skip
    annotations = {
        "summary": f"Pod shop/{pod} is crash looping",
        "description": f"Pod shop/{pod} (checkout-api) is in waiting state (reason: CrashLoopBackOff) "
        "for longer than 15 minutes. Its last termination was OOMKilled with exit code 137; the node reports "
        "memory pressure and the deployment has no headroom left in its limits.",
        "runbook_url": "https://runbooks.prometheus-operator.dev/runbooks/kubernetes/kubepodcrashlooping",
    }
    return alert(labels, annotations=annotations, **times)


def _deliveries(database_url: str) -> list[dict[str, object]]:
    """The notifications Alertmanager sent, oldest first, as received."""
    found = rows(database_url, "SELECT body FROM webhook_deliveries WHERE sender = 'alertmanager' ORDER BY id")
    return [orjson.loads(body) for (body,) in found]


async def _until_delivered(database_url: str, at_least: int) -> None:
    """Wait for Alertmanager's `at_least`-th notification to be stored (each commits before it is answered)."""
    deadline = datetime.now(UTC) + timedelta(seconds=_WAIT)
    while count(database_url, "webhook_deliveries") < at_least:
        assert datetime.now(UTC) < deadline, f"Alertmanager sent fewer than {at_least} notifications"
        await asyncio.sleep(0.05)  # the delivery log has no doorbell: look again shortly


async def test_a_group_of_1500_alerts_is_delivered_whole_and_every_alert_reaches_a_subscriber(bench: Bench) -> None:
    """max_alerts: 0 (as docs/monitoring.md recommends) puts the whole group in one notification
    of about 1.5 MB: it is accepted, not refused for its size, and applied in one go."""
    async with await open_stream(bench.service.ws, token(), max_size=None) as ws:
        await receive(ws)
        bench.am.push([_pod_alert(i) for i in range(1500)])
        messages = await receive_events(ws, 1500, timeout=60)

    assert {m["data"]["id"] for m in messages} == {m["data"]["id"] for m in messages if m["action"] == "created"}
    assert len({m["data"]["id"] for m in messages}) == 1500
    [notification] = _deliveries(bench.database_url)
    assert len(notification["alerts"]) == 1500  # type: ignore[arg-type]
    assert rows(bench.database_url, "SELECT outcome, length(body) > 1400000 FROM webhook_deliveries") == [
        ("applied", True)
    ]
    assert count(bench.database_url, "alerts") == 1500


@pytest.mark.parametrize("timing", [Timing(group_interval="500ms", repeat_interval="500ms")])
async def test_grouped_and_repeated_notifications_send_each_change_once(bench: Bench) -> None:
    """Alertmanager repeats an unchanged group every repeat_interval, and re-sends the whole
    group when one alert joins it: subscribers hear of each alert once."""
    async with await open_stream(bench.service.ws, token()) as ws:
        await receive(ws)
        bench.am.push([_pod_alert(i) for i in range(3)])
        first = await receive_events(ws, 3)
        await _until_delivered(bench.database_url, 3)  # the group, then two repeats of it
        repeated = await expect_silence(ws)
        bench.am.push([_pod_alert(3)])
        [joined] = await receive_events(ws, 1)
        await _until_delivered(bench.database_url, count(bench.database_url, "webhook_deliveries") + 1)
        after = await expect_silence(ws)

    assert [m["action"] for m in first] == ["created"] * 3
    assert (repeated, after) == ([], [])
    assert (joined["action"], joined["data"]["labels"]["pod"]) == ("created", "checkout-api-7d9f8b6c4-00003")
    notifications = _deliveries(bench.database_url)
    assert [len(n["alerts"]) for n in notifications[:3]] == [3, 3, 3]  # type: ignore[arg-type]
    assert len(notifications[-1]["alerts"]) == 4  # type: ignore[arg-type]
    assert count(bench.database_url, "alert_history") == 4


async def test_a_resolved_alert_is_resolved_once_and_a_new_firing_reopens_it(bench: Bench) -> None:
    began = utcnow() - timedelta(minutes=5)
    async with await open_stream(bench.service.ws, token()) as ws:
        await receive(ws)
        bench.am.push([_pod_alert(1, starts_at=began)])
        [created] = await receive_events(ws, 1)
        ended = utcnow()
        bench.am.push([_pod_alert(1, starts_at=began, ends_at=ended)])
        [resolved] = await receive_events(ws, 1)
        again = utcnow() + timedelta(seconds=1)
        bench.am.push([_pod_alert(1, starts_at=again)])
        [reopened] = await receive_events(ws, 1)
        assert await expect_silence(ws) == []

    assert (created["action"], created["data"]["status"]) == ("created", "firing")
    assert (resolved["action"], resolved["data"]["status"]) == ("updated", "resolved")
    assert resolved["data"]["resolved_at"][:19] == ended.isoformat()[:19]
    assert (reopened["action"], reopened["data"]["status"]) == ("updated", "firing")
    assert reopened["data"]["triggered_at"][:19] == again.isoformat()[:19]
    assert "resolved_at" not in reopened["data"]


async def test_an_alert_resolved_while_silenced_goes_stale_then_expires_as_documented(bench: Bench) -> None:
    """Alertmanager mutes the resolution of a silenced alert for good: the service never hears
    that it ended. It goes stale after ALERT_STALE_AFTER_SECONDS without news, and expires
    (closed, with `resolved_at`) after ALERT_EXPIRE_AFTER_SECONDS (docs/monitoring.md)."""
    settings = bench.service.settings
    async with await open_stream(bench.service.ws, token()) as ws:
        await receive(ws)
        bench.am.push([_pod_alert(1, name="DiskFull")])
        [created] = await receive_events(ws, 1)
        silenced = created["data"]["id"]
        bench.am.silence({"alertname": "DiskFull", "pod": "checkout-api-7d9f8b6c4-00001"})
        bench.am.push([_pod_alert(1, name="DiskFull", ends_at=utcnow())])
        # The next notification of the group carries a new alert, and not the muted resolution.
        bench.am.push([_pod_alert(2, name="DiskFull")])
        [other] = await receive_events(ws, 1)
        assert await expect_silence(ws) == []
        assert rows(bench.database_url, "SELECT status FROM alerts WHERE id = %s", silenced) == [("firing",)]

        engine = create_engine(bench.database_url)
        try:
            for silent in (settings.alert_stale_after_seconds, settings.alert_expire_after_seconds):
                async with write(engine) as conn:
                    await age_alerts_now(conn, settings, now=utcnow() + timedelta(seconds=silent + 60))
        finally:
            await engine.dispose()
        aged = await receive_events(ws, 4)

    assert other["data"]["id"] != silenced
    sent = [(a["labels"]["pod"], a["status"]) for n in _deliveries(bench.database_url) for a in n["alerts"]]  # type: ignore[attr-defined]
    assert ("checkout-api-7d9f8b6c4-00001", "resolved") not in sent
    mine = [(m["action"], m["data"]["status"]) for m in aged if m["data"]["id"] == silenced]
    assert mine == [("updated", "stale"), ("updated", "expired")]
    expired = next(m for m in aged if m["data"]["id"] == silenced and m["data"]["status"] == "expired")
    assert expired["data"]["resolved_at"] > created["data"]["triggered_at"]
