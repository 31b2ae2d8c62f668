"""A server process leaves what it built at start-up out of the garbage collector's
full passes, and spaces those passes out, which would otherwise stall every webhook
and socket now and then, and a reconnect wave again and again."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from pathlib import Path

import httpx
import pytest

from tests.conftest import JWT_SECRET, token
from tests.support.clients import open_stream, receive
from tests.support.scrape import scrape
from tests.support.server import server_process

ROOT = Path(__file__).resolve().parents[1]
_WAVE = 1500
_TOKEN = token(sub="wave", roles=("admin",))


def test_a_worker_process_freezes_its_start_up_heap() -> None:
    # `serve --workers N` starts each worker by importing app.main.
    env = {**os.environ, "DATABASE_URL": "postgresql://unused@127.0.0.1/unused", "JWT_SECRET": "x" * 40}
    probe = "import gc, app.main; print(gc.get_freeze_count())"
    frozen = subprocess.run(
        [sys.executable, "-c", probe], env=env, cwd=ROOT, capture_output=True, text=True, check=True, timeout=60
    )
    assert int(frozen.stdout.strip().splitlines()[-1]) > 10_000


@pytest.mark.timeout(240)
async def test_a_burst_of_reconnecting_dashboards_runs_no_full_collection(database_url: str) -> None:
    # Each full pass walks every socket held so far, with nothing sent meanwhile: a wave of
    # 1,500 sockets ran two to four of them before the passes were spaced out.
    env = {"DATABASE_URL": database_url, "JWT_SECRET": JWT_SECRET, "WS_MAX_CONNECTIONS_PER_USER": "10000"}
    with server_process(env) as served:
        async with httpx.AsyncClient(base_url=served.http, timeout=30) as http:
            before = await scrape(http)
            sockets = []
            try:
                for _ in range(_WAVE // 250):  # at once, in bursts the test's own client keeps up with
                    sockets += await asyncio.gather(*(open_stream(served.ws, _TOKEN) for _ in range(250)))
                confirmations = await asyncio.gather(*(receive(ws) for ws in sockets))
                after = await scrape(http)
            finally:
                await asyncio.gather(*(ws.close() for ws in sockets))

    assert {c["type"] for c in confirmations} == {"connection"}
    assert len(confirmations) == _WAVE
    assert after.value("ops_bridge_ws_connections") == _WAVE
    full = {"generation": "2"}
    assert after.value("python_gc_collections_total", **full) == before.value("python_gc_collections_total", **full)
