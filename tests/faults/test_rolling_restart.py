"""A rolling restart of four processes behind a load balancer, two of them through
PgBouncer in transaction mode (their LISTEN connections direct), just after one of
them was killed: each old process drains (1001, its clients resume on another),
the first new one migrates through the pooler while the old ones serve, and
every subscriber still gets every event it may see, once, in order."""

from __future__ import annotations

import asyncio
import signal

import httpx
import pytest

from tests.support.faults import Cluster, Sender, Subscriber, stream_through
from tests.support.pgbouncer import Pooler
from tests.support.server import ServerProcess

pytestmark = pytest.mark.timeout(180)

DELIVERIES = 50
RATE = 10.0


async def _ready(process: ServerProcess) -> None:
    """Ask /readyz until it answers 200, as the load balancer does before it sends traffic."""
    async with httpx.AsyncClient(timeout=5) as http, asyncio.timeout(30):
        while (await http.get(f"{process.http}/readyz")).status_code != 200:  # noqa: ASYNC110 - polled, as a load balancer does
            await asyncio.sleep(0.05)


async def _wave(running: Cluster, old: list[ServerProcess], *, migrate: bool) -> list[int]:
    """Successors for `old` (same settings) started and ready, then the live ones of `old`
    stopped with SIGTERM; their exit statuses."""
    overrides = [running.overrides[process.port] for process in old]
    new = await asyncio.to_thread(running.start_many, overrides, migrate_first=migrate)
    await asyncio.gather(*(_ready(process) for process in new))
    leaving = [process for process in old if process.process.poll() is None]
    return list(await asyncio.gather(*(asyncio.to_thread(process.terminate) for process in leaving)))


async def test_no_loss_through_a_kill_and_a_rolling_restart_of_four_processes_two_behind_a_pooler(
    database_url: str, pooler: Pooler
) -> None:
    pooled = {"DATABASE_URL": pooler.url(database_url), "DATABASE_LISTEN_URL": database_url}
    statuses: list[int] = []
    closes: list[int | None] = []

    async def fault(running: Cluster, subscribers: list[Subscriber], sender: Sender) -> None:
        await sender.until_accepted(DELIVERIES // 5)
        victim = next(p for p in running.live() if running.overrides[p.port])
        victim.process.send_signal(signal.SIGKILL)
        await asyncio.to_thread(victim.process.wait, 10)
        survivors = running.live()
        # Two waves of two (a surge of two): the killed one's successor comes with the first.
        statuses.extend(await _wave(running, [victim, survivors[0]], migrate=True))
        statuses.extend(await _wave(running, survivors[1:], migrate=False))
        closes.extend(code for s in subscribers for code in s.closes)

    running = Cluster(database_url)
    try:
        running.start_many([pooled, pooled, {}, {}])
        await stream_through(
            running,
            database_url,
            "kill, rolling restart x4",
            fault,
            deliveries=DELIVERIES,
            rate=RATE,
            while_fault_runs=True,
        )
        serving = [bool(running.overrides[p.port]) for p in running.live()]
        async with httpx.AsyncClient(timeout=5) as http:
            ready = [(await http.get(f"{p.http}/readyz")).json() for p in running.live()]
    finally:
        running.close()

    assert statuses == [0, 0, 0]
    assert 1001 in closes
    assert sorted(serving) == [False, False, True, True]
    # Events reached every process announced by NOTIFY, the pooled ones' too (not found by their timers).
    assert [r["checks"]["notify"] for r in ready] == ["ok"] * 4
