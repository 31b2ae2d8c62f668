"""Periodic work the service does by itself, with no external cron.

Every process runs every job's loop; a transaction-scoped advisory lock per job
lets one process do each tick and the others skip it, so a job runs once per
interval across the cluster, and keeps running when any process dies. A job
is a coroutine taking a connection inside a transaction: what it writes
(events included) commits together or not at all.
"""

from __future__ import annotations

import asyncio
import logging
import zlib
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

import psycopg
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

_log = logging.getLogger(__name__)

# Two-integer advisory locks, namespace 2: jobs (1 is per-entity locks).
_JOB_NAMESPACE = 2

JobBody = Callable[[AsyncConnection], Awaitable[None]]


@dataclass(frozen=True, slots=True)
class Job:
    name: str
    interval: float
    run: JobBody

    @property
    def lock_key(self) -> int:
        return zlib.crc32(self.name.encode()) & 0x7FFFFFFF


async def run_once(engine: AsyncEngine, job: Job) -> bool:
    """Run `job` if no other process is running it now; True if this one did."""
    async with engine.begin() as conn:
        taken = (
            await conn.execute(
                text("SELECT pg_try_advisory_xact_lock(:ns, :key)"), {"ns": _JOB_NAMESPACE, "key": job.lock_key}
            )
        ).scalar()
        if not taken:
            return False
        await job.run(conn)
        return True


async def run_forever(engine: AsyncEngine, job: Job) -> None:
    while True:
        try:
            await run_once(engine, job)
        except (DBAPIError, psycopg.Error, OSError) as exc:
            _log.warning("job %s could not run: %s", job.name, exc)
        except Exception:  # noqa: BLE001 - a failing job must not stop the others or the process
            _log.exception("job %s failed", job.name)
        await asyncio.sleep(job.interval)


class Jobs:
    """The process's job loops, started with the app and cancelled with it."""

    def __init__(self, engine: AsyncEngine) -> None:
        self._engine = engine
        self._jobs: list[Job] = []
        self._tasks: list[asyncio.Task[None]] = []

    def add(self, name: str, interval: float, run: JobBody) -> None:
        self._jobs.append(Job(name, interval, run))

    def start(self) -> None:
        self._tasks = [
            asyncio.create_task(run_forever(self._engine, job), name=f"job:{job.name}") for job in self._jobs
        ]

    async def stop(self) -> None:
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        self._tasks = []
