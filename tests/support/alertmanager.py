"""A real Prometheus Alertmanager (Debian's `prometheus-alertmanager`, 0.25), started
by a test with its webhook receiver pointing at the service under test.

It listens on a free loopback port, keeps its state in the test's tmp dir, runs
without clustering (`--cluster.listen-address=`), and groups and repeats on
short intervals so a test sees several notifications in seconds. Alerts are
pushed and silences made with its v2 API, as Prometheus and `amtool` do.
"""

from __future__ import annotations

import json
import subprocess
import time
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx

from tests.support.server import free_port

BINARY = "/usr/bin/prometheus-alertmanager"
_READY_TIMEOUT = 30.0


@dataclass(frozen=True)
class Timing:
    """How Alertmanager batches: wait before the first notification of a group, between
    notifications of a changed group, and before repeating an unchanged one."""

    group_wait: str = "200ms"
    group_interval: str = "1s"
    repeat_interval: str = "1h"


@dataclass
class RunningAlertmanager:
    url: str

    def push(self, alerts: Sequence[Mapping[str, Any]]) -> None:
        """Post alerts as Prometheus does (`POST /api/v2/alerts`)."""
        response = httpx.post(f"{self.url}/api/v2/alerts", json=list(alerts), timeout=30)
        response.raise_for_status()

    def silence(self, matchers: Mapping[str, str], *, hours: float = 1) -> str:
        """Silence alerts whose labels equal `matchers` for `hours`; the silence's id."""
        now = datetime.now(UTC)
        body = {
            "matchers": [{"name": k, "value": v, "isRegex": False, "isEqual": True} for k, v in matchers.items()],
            "startsAt": _rfc3339(now - timedelta(seconds=1)),
            "endsAt": _rfc3339(now + timedelta(hours=hours)),
            "createdBy": "tests",
            "comment": "maintenance window",
        }
        response = httpx.post(f"{self.url}/api/v2/silences", json=body, timeout=10)
        response.raise_for_status()
        return str(response.json()["silenceID"])


def alert(
    labels: Mapping[str, str], *, annotations: Mapping[str, str] | None = None, **times: datetime
) -> dict[str, Any]:
    """An alert as Prometheus posts it; `starts_at` and `ends_at` (past: resolved) optional."""
    body: dict[str, Any] = {"labels": dict(labels), "annotations": dict(annotations or {})}
    if "starts_at" in times:
        body["startsAt"] = _rfc3339(times["starts_at"])
    if "ends_at" in times:
        body["endsAt"] = _rfc3339(times["ends_at"])
    return body


def _rfc3339(at: datetime) -> str:
    return at.astimezone(UTC).isoformat().replace("+00:00", "Z")


def _config(webhook_url: str, token: str | None, timing: Timing, group_by: Sequence[str]) -> dict[str, Any]:
    webhook: dict[str, Any] = {"url": webhook_url, "send_resolved": True, "max_alerts": 0}
    if token is not None:
        webhook["http_config"] = {"authorization": {"type": "Bearer", "credentials": token}}
    return {
        "route": {
            "receiver": "ops-bridge",
            "group_by": list(group_by),
            "group_wait": timing.group_wait,
            "group_interval": timing.group_interval,
            "repeat_interval": timing.repeat_interval,
        },
        "receivers": [{"name": "ops-bridge", "webhook_configs": [webhook]}],
    }


@contextmanager
def alertmanager(
    tmp_path: Path,
    webhook_url: str,
    *,
    token: str | None = None,
    timing: Timing = Timing(),
    group_by: Sequence[str] = ("alertname",),
) -> Iterator[RunningAlertmanager]:
    """Alertmanager running with one receiver, the service's webhook at `webhook_url`."""
    home = tmp_path / "alertmanager"
    (home / "data").mkdir(parents=True)
    # JSON is YAML: no YAML writer needed.
    (home / "alertmanager.yml").write_text(json.dumps(_config(webhook_url, token, timing, group_by)))
    port = free_port()
    argv = [
        BINARY,
        f"--config.file={home / 'alertmanager.yml'}",
        f"--storage.path={home / 'data'}",
        f"--web.listen-address=127.0.0.1:{port}",
        "--cluster.listen-address=",
        "--log.level=warn",
    ]
    log = (home / "alertmanager.log").open("wb")
    process = subprocess.Popen(argv, stdout=log, stderr=subprocess.STDOUT)
    running = RunningAlertmanager(f"http://127.0.0.1:{port}")
    try:
        _wait_ready(running, process, home)
        yield running
    finally:
        process.terminate()
        try:
            process.wait(10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(10)
        log.close()


def _wait_ready(running: RunningAlertmanager, process: subprocess.Popen[bytes], home: Path) -> None:
    deadline = time.monotonic() + _READY_TIMEOUT
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"alertmanager exited: {(home / 'alertmanager.log').read_text()[-2000:]}")
        try:
            if httpx.get(f"{running.url}/-/ready", timeout=1).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.05)  # a process starting: nothing to await but its port
    raise RuntimeError("alertmanager did not become ready in time")
