"""Under `serve --workers N`, a scrape reaching any one worker reports them all."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest
from prometheus_client import generate_latest
from websockets.asyncio.client import ClientConnection
from websockets.exceptions import ConnectionClosed

from app.api.prometheus import registry
from app.observability.multiprocess import MULTIPROCESS_ENV, forget_workers
from tests.conftest import JWT_SECRET, token
from tests.support.clients import open_stream, receive
from tests.support.jira import issue_event
from tests.support.scrape import Scrape, scrape, scrape_until
from tests.support.workers import workers_process

SOCKETS = 12
WEBHOOKS = 10


def _pids(found: Scrape) -> dict[int, float]:
    """Each worker's open file descriptors, by pid."""
    return {
        int(dict(labels)["pid"]): value
        for (name, labels), value in found.series.items()
        if name == "process_open_fds" and "pid" in dict(labels)
    }


async def _alive(ws: ClientConnection) -> bool:
    try:
        async with asyncio.timeout(5):
            await (await ws.ping())
    except (ConnectionClosed, TimeoutError):
        return False
    return True


# A worker: counts one connection and one webhook, then waits to be told to go.
_WORKER = """
from app.observability import metrics
metrics.connection_opened()
metrics.webhook_answered("jira", "applied", 0.01)
print("counted", flush=True)
input()
"""


@contextmanager
def _worker(directory: Path) -> Iterator[subprocess.Popen[str]]:
    env = {**os.environ, MULTIPROCESS_ENV: str(directory)}
    argv = [sys.executable, "-c", _WORKER]
    with subprocess.Popen(argv, env=env, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True) as process:
        assert process.stdout is not None
        assert process.stdout.readline().strip() == "counted"
        try:
            yield process
        finally:
            process.kill()


def test_a_scrape_adds_up_every_workers_values_and_forgets_a_dead_workers_live_gauges(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(MULTIPROCESS_ENV, str(tmp_path))
    with _worker(tmp_path) as first, _worker(tmp_path) as second:
        both = Scrape(generate_latest(registry()).decode())
        first.kill()
        first.wait(10)
        forget_workers({first.pid})
        one = Scrape(generate_latest(registry()).decode())
        survivor = second.pid

    assert both.value("ops_bridge_ws_connections") == 2
    assert both.value("ops_bridge_webhooks_total", sender="jira", outcome="applied") == 2
    assert set(_pids(both)) == {first.pid, survivor}
    # The dead worker's connections are gone; what it counted stays counted.
    assert one.value("ops_bridge_ws_connections") == 1
    assert one.value("ops_bridge_webhooks_total", sender="jira", outcome="applied") == 2
    assert set(_pids(one)) == {survivor}


def test_a_worker_file_not_sized_yet_does_not_fail_the_scrape(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # A starting worker creates its file before sizing it (prometheus/client_python#1199); one
    # killed in that moment leaves it empty for good.
    monkeypatch.setenv(MULTIPROCESS_ENV, str(tmp_path))
    with _worker(tmp_path) as worker:
        (tmp_path / "counter_999999.db").touch()
        found = Scrape(generate_latest(registry()).decode())
        assert set(_pids(found)) == {worker.pid}

    assert found.value("ops_bridge_webhooks_total", sender="jira", outcome="applied") == 1


@pytest.mark.timeout(180)
async def test_serve_with_workers_scrapes_as_one_and_a_killed_worker_is_replaced_and_forgotten(
    database_url: str,
) -> None:
    # Which worker accepts each connection is the kernel's choice: the test above proves the
    # adding up; this one that `serve --workers` sets it up and its supervisor forgets the dead.
    env = {"DATABASE_URL": database_url, "JWT_SECRET": JWT_SECRET, "LISTENER_POLL_INTERVAL": "0.5"}
    with workers_process(env, workers=2) as served:
        async with httpx.AsyncClient(base_url=served.http, timeout=10) as http:
            started = await scrape_until(http, lambda s: len(_pids(s)) == 2, timeout=60)
            sockets = await asyncio.gather(*(open_stream(served.ws, token(sub=f"w{n}")) for n in range(SOCKETS)))
            for ws in sockets:
                assert (await receive(ws))["type"] == "connection"
            answers = await asyncio.gather(
                *(http.post("/api/webhooks/jira", json=issue_event(n)) for n in range(WEBHOOKS))
            )
            assert {a.status_code for a in answers} == {200}
            scrapes = [await scrape(http) for _ in range(6)]

            # The worker holding the most sockets dies; the supervisor starts another.
            busiest = max(_pids(scrapes[-1]).items(), key=lambda item: item[1])[0]
            os.kill(busiest, signal.SIGKILL)
            alive = [ws for ws, up in zip(sockets, await asyncio.gather(*map(_alive, sockets)), strict=True) if up]

            def replaced_and_forgotten(found: Scrape) -> bool:
                pids = _pids(found)
                return len(pids) == 2 and busiest not in pids and found.value("ops_bridge_ws_connections") == len(alive)

            after = await scrape_until(http, replaced_and_forgotten, timeout=60)
            for ws in alive:
                await ws.close()

    assert len(_pids(started)) == 2
    for found in scrapes:
        assert found.value("ops_bridge_ws_connections") == SOCKETS
        assert found.value("ops_bridge_webhooks_total", sender="jira", outcome="applied") == WEBHOOKS
        assert found.value("ops_bridge_ws_subscriptions", topic="incident") == SOCKETS
    # Counters keep what the dead worker counted: totals never go backwards.
    assert after.value("ops_bridge_webhooks_total", sender="jira", outcome="applied") == WEBHOOKS
    assert len(alive) < SOCKETS
