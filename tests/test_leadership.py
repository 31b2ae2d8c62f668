"""The fleet's chores run in one process, the leader; when it dies another takes over.

Real `ops-bridge serve` processes on one database; what each one does is read
from its own /metrics (`ops_bridge_leader`, `ops_bridge_job_runs_total`) and
from PostgreSQL (which session holds the leader's lock)."""

from __future__ import annotations

import asyncio
import re
from contextlib import ExitStack

import httpx
import psycopg
import pytest

from app.db.lock_keys import LEADER_KEY, LEADER_NAMESPACE
from app.leadership import Leadership
from tests.conftest import JWT_SECRET
from tests.support.server import ServerProcess, server_process

_JOB_RUNS = re.compile(r'^ops_bridge_job_runs_total\{job="(?P<job>[^"]+)"\} (?P<value>\S+)$', re.MULTILINE)
_LEADER = re.compile(r"^ops_bridge_leader (?P<value>\S+)$", re.MULTILINE)
# Bounded waits: the leader's first job ticks come within a second of its start.
_DEADLINE = 30.0


async def _scrape(http: httpx.AsyncClient, process: ServerProcess) -> tuple[bool, float]:
    """(whether `process` says it leads, how many job ticks it ran)."""
    text = (await http.get(f"{process.http}/metrics")).text
    leader = _LEADER.search(text)
    runs = sum(float(match["value"]) for match in _JOB_RUNS.finditer(text))
    return leader is not None and float(leader["value"]) == 1.0, runs


def _lock_holder(database_url: str) -> str | None:
    """The application_name of the session holding the leader's lock in this database."""
    with psycopg.connect(database_url, autocommit=True) as conn:
        row = conn.execute(
            "SELECT a.application_name FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid "
            "WHERE l.locktype = 'advisory' AND l.granted AND l.classid = %s AND l.objid = %s AND l.objsubid = 2 "
            "AND l.database = (SELECT oid FROM pg_database WHERE datname = current_database())",
            (LEADER_NAMESPACE, LEADER_KEY),
        ).fetchone()
    return str(row[0]) if row else None


async def _one_leader_running_jobs(http: httpx.AsyncClient, processes: list[ServerProcess]) -> ServerProcess:
    """Once exactly one process leads and has run some ticks: that one."""
    async with asyncio.timeout(_DEADLINE):
        while True:
            states = [await _scrape(http, process) for process in processes]
            leaders = [process for process, (leads, runs) in zip(processes, states, strict=True) if leads and runs >= 4]
            if leaders:
                assert sum(leads for leads, _ in states) == 1
                return leaders[0]
            await asyncio.sleep(0.1)


@pytest.mark.timeout(120)
async def test_one_process_runs_the_jobs_and_another_takes_over_when_it_is_killed(database_url: str) -> None:
    env = {"DATABASE_URL": database_url, "JWT_SECRET": JWT_SECRET}
    with ExitStack() as stack:
        processes = [stack.enter_context(server_process(env)) for _ in range(3)]
        async with httpx.AsyncClient(timeout=10) as http:
            leader = await _one_leader_running_jobs(http, processes)
            holder = _lock_holder(database_url)
            # The others ran no tick at all (not even one that found the work taken): they never
            # opened a transaction for the chores.
            others = [process for process in processes if process is not leader]
            followers = [await _scrape(http, process) for process in others]

            leader.kill()
            successor = await _one_leader_running_jobs(http, others)
            new_holder = _lock_holder(database_url)
            still_following = [await _scrape(http, p) for p in others if p is not successor]

    assert holder == f"ops-bridge-leader:{leader.process.pid}"
    assert followers == [(False, 0.0), (False, 0.0)]
    assert any("leading the fleet's periodic jobs" in line for line in leader.output)
    assert new_holder == f"ops-bridge-leader:{successor.process.pid}"
    assert still_following == [(False, 0.0)]


async def test_a_stopped_leader_hands_over_at_once(database_url: str) -> None:
    first, second = Leadership(database_url, check_seconds=0.1), Leadership(database_url, check_seconds=0.1)
    bids = [asyncio.create_task(first.run()), asyncio.create_task(second.run())]
    try:
        await asyncio.wait(
            [asyncio.ensure_future(first.wait_leading()), asyncio.ensure_future(second.wait_leading())],
            timeout=_DEADLINE,
            return_when=asyncio.FIRST_COMPLETED,
        )
        leading, waiting = (0, 1) if first.leading else (1, 0)
        both_led = first.leading and second.leading
        bids[leading].cancel()
        async with asyncio.timeout(_DEADLINE):
            await (second if waiting == 1 else first).wait_leading()
    finally:
        for bid in bids:
            bid.cancel()
        await asyncio.gather(*bids, return_exceptions=True)

    assert not both_led
    # Cancelled bids lead nothing.
    assert not first.leading
    assert not second.leading


async def test_a_leader_whose_session_loses_the_lock_steps_down(database_url: str) -> None:
    """As behind a transaction pooler, where the lock stays on a server connection that is not
    this session's: here the lock is taken from under it by ending its session's lock."""
    leadership = Leadership(database_url, check_seconds=0.05)
    bid = asyncio.create_task(leadership.run())
    try:
        await asyncio.wait_for(leadership.wait_leading(), _DEADLINE)
        with psycopg.connect(database_url, autocommit=True) as admin:
            admin.execute(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                "WHERE application_name LIKE 'ops-bridge-leader:%%' AND datname = current_database()"
            )
            await asyncio.wait_for(leadership.wait_following(), _DEADLINE)
            stepped_down = True
            # And it bids again: with nobody else bidding, it leads again.
            await asyncio.wait_for(leadership.wait_leading(), _DEADLINE)
    finally:
        bid.cancel()
        await asyncio.gather(bid, return_exceptions=True)

    assert stepped_down
