"""Periodic work the service does by itself, with no external cron.

The fleet's chores run once per tick across the fleet, in the leader
(app/leadership.py): every process registers the same jobs, only the leader's
loops run them, the others wait without touching the database. A tick still
takes a transaction-scoped advisory lock per job, so that the short overlap
while leadership changes hands (an old leader that has not yet seen its
connection drop) cannot run a tick twice. A job is a coroutine taking a
connection inside a transaction, opened through the use-case layer's write
seam (app/ingest/transaction.py) like every write of the service: what it
writes (events included, as statements on the driver) commits together or
not at all.

A database that cannot serve (`failures.unavailable`) is a WARNING once per
outage and per job, and the loop goes on; anything else is logged with its
traceback, and the loop goes on too.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import zlib
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncEngine

from app.db import failures
from app.db.driver import PgConnection, Statement, run
from app.db.lock_keys import JOB_NAMESPACE
from app.ingest.transaction import write
from app.leadership import Leadership
from app.observability.metrics import JOB_RUNS

_log = logging.getLogger(__name__)

# True: there is more to do now (a full batch went); None or False: caught up until the next tick.
JobBody = Callable[[PgConnection], Awaitable[bool | None]]

_TRY_LOCK = "SELECT pg_try_advisory_xact_lock(%s, %s)"


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
    ran, _ = await _tick(engine, job)
    return ran


async def catch_up(engine: AsyncEngine, job: Job, *, while_: Callable[[], bool] = lambda: True) -> int:
    """Run `job` again and again, each in its own transaction, while it reports more to do
    (and `while_()` holds); return how many times it ran."""
    runs = 0
    while while_():
        ran, more = await _tick(engine, job)
        runs += ran
        if not (ran and more):
            return runs
        await asyncio.sleep(0)  # between batches, the process's other work goes first
    return runs


async def _tick(engine: AsyncEngine, job: Job) -> tuple[bool, bool]:
    """(whether this process ran `job`, whether it has more to do now)."""
    # An outage is reported by `run_forever`, once, not by the seam at every tick.
    async with write(engine, log_outage=False) as conn:
        (taken,) = await run(conn, [Statement(_TRY_LOCK, (JOB_NAMESPACE, job.lock_key))])
        if not taken[0][0]:
            return False, False
        more = await job.run(conn)
    JOB_RUNS.labels(job=job.name).inc()
    return True, bool(more)


async def run_forever(engine: AsyncEngine, job: Job, leadership: Leadership) -> None:
    failing = False
    while True:
        await leadership.wait_leading()
        try:
            await catch_up(engine, job, while_=lambda: leadership.leading)
        except Exception as exc:  # noqa: BLE001 - a failing job must not stop the others or the process
            if failures.unavailable(exc) is None:
                _log.exception("job %s failed", job.name)
            elif not failing:
                _log.warning("job %s could not run: database unavailable (%s)", job.name, failures.kind_of(exc))
            failing = True
        else:
            if failing:
                _log.info("job %s runs again", job.name)
            failing = False
        await asyncio.sleep(job.interval)


class Jobs:
    """The process's bid for leadership and its job loops, started with the app and cancelled with it."""

    def __init__(self, engine: AsyncEngine, leadership: Leadership) -> None:
        self._engine = engine
        self.leadership = leadership
        self._jobs: list[Job] = []
        self._tasks: list[asyncio.Task[None]] = []

    def add(self, name: str, interval: float, run: JobBody) -> None:
        self._jobs.append(Job(name, interval, run))

    def start(self) -> None:
        self._tasks = [asyncio.create_task(self.leadership.run(), name="leadership")]
        self._tasks += [
            asyncio.create_task(run_forever(self._engine, job, self.leadership), name=f"job:{job.name}")
            for job in self._jobs
        ]

    async def stop(self) -> None:
        for task in self._tasks:
            task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await asyncio.gather(*self._tasks, return_exceptions=True)
        self._tasks = []
