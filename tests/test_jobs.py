"""Periodic jobs: one process runs each tick, whichever processes are up."""

from __future__ import annotations

import asyncio

from app.db.driver import PgConnection
from app.db.engine import create_engine
from app.jobs import Job, run_once


async def test_a_job_runs_in_one_process_at_a_time(database_url: str) -> None:
    engines = [create_engine(database_url), create_engine(database_url)]
    inside = asyncio.Event()
    release = asyncio.Event()
    runs: list[int] = []

    async def body(conn: PgConnection) -> None:
        runs.append(1)
        inside.set()
        await release.wait()

    job = Job("exclusive", 1.0, body)
    try:
        first = asyncio.create_task(run_once(engines[0], job))
        await inside.wait()
        second_ran = await run_once(engines[1], job)
        release.set()
        first_ran = await first
        third_ran = await run_once(engines[1], job)
    finally:
        for engine in engines:
            await engine.dispose()

    assert (first_ran, second_ran, third_ran) == (True, False, True)
    assert len(runs) == 2
