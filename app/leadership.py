"""Which process of the fleet does the periodic chores (app/jobs.py).

When every process ran every job's loop, each tick cost every process a
transaction just to learn that another one had done the work: an idle process
committed about five a second, 200 of them a thousand. Now one process leads:
it holds a session-level advisory lock (app/db/lock_keys.py) on a connection of
its own, and only it runs the jobs. The others wait for that lock inside
PostgreSQL (a blocked `pg_advisory_lock`: no commits, no polling), so when the
leader dies its session ends, the lock is freed, and one of them leads at once.

The connection is a direct one (DATABASE_LISTEN_URL, else DATABASE_URL): a
transaction pooler would leave a session lock on whichever server connection
ran it, for its next client to hold. While it leads, the process asks every
CHECK_SECONDS whether its own session still holds the lock; a lost connection,
or a lock found elsewhere, ends its leadership before anything else is done.
"""

from __future__ import annotations

import asyncio
import logging
import os

from app.db import failures
from app.db.driver import PgConnection, connect
from app.db.lock_keys import LEADER_KEY, LEADER_NAMESPACE
from app.observability.metrics import LEADER, LEADS

_log = logging.getLogger(__name__)

CHECK_SECONDS = 5.0
_MAX_RETRY_SECONDS = 10.0

_HOLDS = (
    "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND pid = pg_backend_pid() AND granted "
    "AND classid = %s AND objid = %s AND objsubid = 2"
)


class LeadershipLost(RuntimeError):
    """This session no longer holds the leader's lock (it went through a pooler?)."""


class Leadership:
    """The process's bid for the leader's lock, kept for as long as `run()` runs."""

    def __init__(
        self, url: str, *, check_seconds: float = CHECK_SECONDS, key: int = LEADER_KEY, duty: str = "jobs"
    ) -> None:
        """`key` (app/db/lock_keys.py, in LEADER_NAMESPACE) names the lock; `duty` names what its
        holder does, in logs and in the `ops_bridge_leads{duty}` gauge."""
        self._url = url
        self._key = key
        self._duty = duty
        self._gauge = LEADER if key == LEADER_KEY else LEADS.labels(duty=duty)
        self._check_seconds = check_seconds
        self._leading = asyncio.Event()
        self._following = asyncio.Event()
        self._following.set()

    @property
    def leading(self) -> bool:
        return self._leading.is_set()

    async def wait_leading(self) -> None:
        await self._leading.wait()

    async def wait_following(self) -> None:
        await self._following.wait()

    async def run(self) -> None:
        """Bid, lead, and bid again after any failure, until cancelled."""
        failures = 0
        try:
            while True:
                try:
                    await self._bid_and_lead()
                except Exception as exc:  # noqa: BLE001 - any failure ends this term; the loop bids again
                    self._step_down(logging.WARNING)
                    failures += 1
                    self._report(exc, first=failures == 1)
                    await asyncio.sleep(min(2.0 ** (failures - 1), _MAX_RETRY_SECONDS))
                else:
                    failures = 0
        finally:
            self._step_down(logging.INFO)  # stopping: the session's end hands the lock over

    async def _bid_and_lead(self) -> None:
        async with await connect(
            self._url, application_name=f"ops-bridge-leader:{os.getpid()}", autocommit=True
        ) as conn:
            # A role's statement_timeout must not cut the wait short: waiting is this session's job.
            await conn.execute("SET statement_timeout = 0")
            await conn.execute("SELECT pg_advisory_lock(%s, %s)", (LEADER_NAMESPACE, self._key))
            self._take_over()
            while True:
                await self._check(conn)
                await asyncio.sleep(self._check_seconds)

    async def _check(self, conn: PgConnection) -> None:
        row = await (await conn.execute(_HOLDS, (LEADER_NAMESPACE, self._key))).fetchone()
        if not row or not row[0]:
            raise LeadershipLost(
                "this process took the leader's lock but its session does not hold it: DATABASE_LISTEN_URL "
                "(else DATABASE_URL) goes through a transaction pooler; set DATABASE_LISTEN_URL to a direct connection"
            )

    def _take_over(self) -> None:
        _log.info("leading the fleet's %s (process %d)", self._duty_text, os.getpid())
        self._following.clear()
        self._leading.set()
        self._gauge.set(1)

    def _step_down(self, level: int) -> None:
        if self._leading.is_set():
            _log.log(level, "no longer leading the fleet's %s (process %d)", self._duty_text, os.getpid())
        self._leading.clear()
        self._following.set()
        self._gauge.set(0)

    @property
    def _duty_text(self) -> str:
        return "periodic jobs" if self._duty == "jobs" else self._duty

    def _report(self, exc: Exception, *, first: bool) -> None:
        if isinstance(exc, LeadershipLost):
            _log.warning("%s", exc)
        elif failures.unavailable(exc) is not None:
            if first:  # once per outage: the loop retries quietly until the database is back
                _log.warning("cannot bid for the leader's lock: database unavailable (%s)", failures.kind_of(exc))
        else:
            _log.error("the bid for the leader's lock failed", exc_info=exc)
