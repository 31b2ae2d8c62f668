"""Group commit for webhooks: deliveries of one sender arriving together are
written in one transaction, with set-based statements.

Under load a process receives many deliveries at once; one transaction each
costs round trips and a commit apiece, and on a busy two-core machine the round
trips are most of the cost. A sender that can apply changes as a set (its
`apply_many`) gets a writer: each request hands its translated change to the
writer and waits; the writer takes whatever has queued up (one at a time when
idle, so no delay is added) and writes the lot: record the deliveries (a
redelivery stops there), apply the changes in arrival order, append their
events, commit. Every request is answered only after the commit that holds it.

The writer holds one connection of its own (it has one transaction in flight
at a time) and talks to it directly with psycopg, pipelined: the statements of
a batch are sent without waiting for each other's answers, so a transaction
costs a round trip per result the writer must read (the keys claimed, the
issues loaded) and one for the writes and the commit.

If the batch fails because the database is unreachable, every request in it is
answered 503 (the senders retry) and the connection is dropped: the next batch
connects afresh. If it fails for any other reason, each
delivery is retried in a transaction of its own, so one bad delivery spoils
only its own answer.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Generic, TypeVar

import psycopg

from app.db.driver import Driver
from app.errors import DATABASE_DOWN, StoreUnavailable
from app.store import deliveries
from app.store.deliveries import Received

_log = logging.getLogger(__name__)

Change = TypeVar("Change")
ApplyMany = Callable[[Driver, Sequence[Change], datetime], Awaitable[list[int]]]
Connect = Callable[[], Awaitable[Driver]]

MAX_BATCH = 128


@dataclass(slots=True)
class _Job(Generic[Change]):
    received: Received
    change: Change
    now: datetime
    # Events produced, or None for a redelivery.
    done: asyncio.Future[int | None] = field(default_factory=lambda: asyncio.get_running_loop().create_future())


class BatchWriter(Generic[Change]):
    def __init__(self, connect: Connect, sender: str, apply_many: ApplyMany[Change]) -> None:
        self._connect = connect
        self._conn: Driver | None = None
        self._sender = sender
        self._apply_many = apply_many
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
        except DATABASE_DOWN as exc:
            await self._disconnect()
            _log.warning("database unavailable for %d %s deliveries: %s", len(batch), self._sender, type(exc).__name__)
            for job in batch:
                _settle(job, error=StoreUnavailable("the database is unavailable; retry later"))
            return
        except Exception as exc:  # noqa: BLE001 - isolate whichever delivery caused it
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
            self._conn = await self._connect()
        conn = self._conn
        async with conn.pipeline(), conn.transaction():
            return await self._write(conn, batch)

    async def _disconnect(self) -> None:
        conn, self._conn = self._conn, None
        if conn is not None:
            with contextlib.suppress(psycopg.Error, OSError):
                await conn.close()

    async def _write(self, conn: Driver, batch: list[_Job[Change]]) -> list[int | None]:
        fresh = await deliveries.claim_keys(conn, self._sender, [job.received for job in batch])
        claimed: set[str] = set()
        applicable: list[_Job[Change]] = []
        for job in batch:
            key = job.received.delivery_key
            if key is None or (key in fresh and key not in claimed):
                applicable.append(job)
                if key is not None:
                    claimed.add(key)
        produced = await self._apply_many(conn, [job.change for job in applicable], batch[-1].now)
        counts = dict(zip(map(id, applicable), produced, strict=True))
        await deliveries.record_outcomes(
            conn,
            self._sender,
            [(j.received, "applied" if counts[id(j)] else "unchanged") for j in applicable if not _keyed(j)],
            [j.received.delivery_key for j in applicable if _keyed(j) and not counts[id(j)]],  # type: ignore[misc]
        )
        return [counts.get(id(job)) for job in batch]


def _keyed(job: _Job[Change]) -> bool:
    return job.received.delivery_key is not None


def _settle(job: _Job[Change], *, result: int | None = None, error: BaseException | None = None) -> None:
    if job.done.done():
        return
    if error is not None:
        job.done.set_exception(error)
    else:
        job.done.set_result(result)
