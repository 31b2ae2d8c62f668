"""Group commit for webhooks: deliveries of one sender arriving together are
written in one transaction, with set-based statements.

Under load a process receives many deliveries at once; one transaction each
costs round trips and a commit apiece, and on a busy two-core machine the round
trips are most of the cost. A sender that can apply changes as a set (its
`set_writer`, a `SetWriter`) gets a writer: each request hands its translated change to the
writer and waits; the writer takes whatever has queued up (one at a time when
idle, so no delay is added) and writes the lot: record the deliveries (a
redelivery stops there), apply the changes in arrival order, append their
events, commit. Every request is answered only after the commit that holds it.

The writer holds one connection of its own (it has one transaction in flight
at a time) and a batch costs it two messages (app/db/driver.py): BEGIN with
the delivery keys' claim and the set writer's reads (locks, then loads), and,
once the changes are planned in Python against what was read, their writes,
the deliveries' outcomes and COMMIT.

If the batch fails because the database cannot serve now (unreachable, or
read-only: app/db/failures.py's `unavailable`), every request in it is answered 503
(the senders retry) and the connection is dropped: the next batch connects
afresh. If it fails for any other reason, each
delivery is retried in a transaction of its own, so one bad delivery spoils
only its own answer.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Generic, TypeVar

import psycopg
from psycopg.pq import TransactionStatus

from app.db.driver import BEGIN, COMMIT, PgConnection, Statement, run
from app.db.failures import kind_of, unavailable
from app.store import deliveries
from app.store.deliveries import Received
from app.store.set_writer import SetWriter

_log = logging.getLogger(__name__)

Change = TypeVar("Change")
Connect = Callable[[], Awaitable[PgConnection]]


MAX_BATCH = 128


@dataclass(slots=True)
class _Job(Generic[Change]):
    received: Received
    change: Change
    now: datetime
    # Events produced, or None for a redelivery.
    done: asyncio.Future[int | None] = field(default_factory=lambda: asyncio.get_running_loop().create_future())


class BatchWriter(Generic[Change]):
    def __init__(self, connect: Connect, sender: str, set_writer: SetWriter[Change]) -> None:
        self._connect = connect
        self._conn: PgConnection | None = None
        self._sender = sender
        self._set_writer = set_writer
        self._queue: asyncio.Queue[_Job[Change]] = asyncio.Queue()
        self._task: asyncio.Task[None] | None = None

    async def write(self, received: Received, change: Change, now: datetime) -> int | None:
        """Store one delivery; the events it produced, or None for a redelivery."""
        if self._task is None:
            self._task = asyncio.create_task(self._run(), name=f"batch-writer:{self._sender}")
        job = _Job(received, change, now)
        self._queue.put_nowait(job)
        return await asyncio.shield(job.done)

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        await self._disconnect()

    async def _run(self) -> None:
        while True:
            batch = [await self._queue.get()]
            while len(batch) < MAX_BATCH and not self._queue.empty():
                batch.append(self._queue.get_nowait())
            await self._write_batch(batch)

    async def _write_batch(self, batch: list[_Job[Change]]) -> None:
        try:
            results = await self._in_one_transaction(batch)
        except Exception as exc:  # noqa: BLE001 - the database's state, or whichever delivery caused it
            down = unavailable(exc)
            if down is not None:
                # Reconnect for the next batch: after a failover, to whichever server is writable.
                await self._disconnect()
                _log.warning("database unavailable for %d %s deliveries: %s", len(batch), self._sender, kind_of(exc))
                for job in batch:
                    _settle(job, error=down)
                return
            if len(batch) == 1:
                _settle(batch[0], error=exc)
                return
            _log.info("a batch of %d %s deliveries failed; writing them one by one", len(batch), self._sender)
            for job in batch:
                await self._write_batch([job])
            return
        for job, result in zip(batch, results, strict=True):
            _settle(job, result=result)

    async def _in_one_transaction(self, batch: list[_Job[Change]]) -> list[int | None]:
        if self._conn is None or self._conn.closed:
            conn = await self._connect()
            # BEGIN and COMMIT travel in the writer's own messages.
            await conn.set_autocommit(True)
            self._conn = conn
        conn = self._conn
        try:
            return await self._write(conn, batch)
        except BaseException:
            await self._roll_back(conn)
            raise

    async def _write(self, conn: PgConnection, batch: list[_Job[Change]]) -> list[int | None]:
        claim = deliveries.claim_statement(self._sender, [job.received for job in batch])
        reads = self._set_writer.reads([job.change for job in batch])
        if claim is None:
            _begun, _locked, loaded = await run(conn, [BEGIN, reads.lock, reads.load])
            fresh: set[str] = set()
        else:
            _begun, new_keys, _locked, loaded = await run(conn, [BEGIN, claim, reads.lock, reads.load])
            fresh = deliveries.claimed(new_keys)
        claimed: set[str] = set()
        applicable: list[_Job[Change]] = []
        for job in batch:
            key = job.received.delivery_key
            if key is None or (key in fresh and key not in claimed):
                applicable.append(job)
                if key is not None:
                    claimed.add(key)
        plan = self._set_writer.plan([job.change for job in applicable], loaded, batch[-1].now)
        counts = dict(zip(map(id, applicable), plan.produced, strict=True))
        outcomes = deliveries.outcome_statements(
            self._sender,
            [(j.received, "applied" if counts[id(j)] else "unchanged") for j in applicable if not _keyed(j)],
            [j.received.delivery_key for j in applicable if _keyed(j) and not counts[id(j)]],  # type: ignore[misc]
        )
        await run(conn, [*plan.writes, *outcomes, COMMIT])
        return [counts.get(id(job)) for job in batch]

    async def _roll_back(self, conn: PgConnection) -> None:
        """End a failed transaction; a connection in an unknown state (cancelled mid-message,
        or lost) is dropped instead."""
        try:
            if conn.info.transaction_status in (TransactionStatus.INTRANS, TransactionStatus.INERROR):
                await run(conn, [Statement("ROLLBACK")])
            elif conn.info.transaction_status != TransactionStatus.IDLE:
                await self._disconnect()
        except (psycopg.Error, OSError, asyncio.CancelledError):
            await self._disconnect()

    async def _disconnect(self) -> None:
        conn, self._conn = self._conn, None
        if conn is not None:
            with contextlib.suppress(psycopg.Error, OSError):
                await conn.close()


def _keyed(job: _Job[Change]) -> bool:
    return job.received.delivery_key is not None


def _settle(job: _Job[Change], *, result: int | None = None, error: BaseException | None = None) -> None:
    if job.done.done():
        return
    if error is not None:
        job.done.set_exception(error)
    else:
        job.done.set_result(result)
