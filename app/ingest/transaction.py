"""Opening a write transaction: the one place the service does it.

Every write of the service (routes, the socket session, jobs, reprocessing)
opens its transaction here, on a connection of the engine's pool, and gets the
psycopg connection under it: writes are built as statements and run on it
(app/db/driver.py), in the fewest messages they can. Only the batch writer
(app/ingest/batch_writer.py) opens its own, on a connection of its own, to
send BEGIN in the same message as its first reads.

A database that cannot serve now (unreachable, restarting, out of
connections, read-only) leaves as `StoreUnavailable`, logged here with what
the driver said (never its message, which may name hosts and users) unless
the caller reports outages its own way. Anything else the database says
passes through unchanged: a collision the caller handles, or a bug.

Some collisions are only known at write time: two writers creating the same
new id, or two transactions locking rows in a cycle (PostgreSQL aborts one
with a deadlock). The loser's transaction is rolled back whole, so running it
again from the start (`write_retrying`) sees the winner's commit and decides
afresh.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from typing import TypeVar

from sqlalchemy.ext.asyncio import AsyncEngine

from app.db.driver import PgConnection, driver_of
from app.db.failures import DATABASE_ERRORS, DatabaseError, kind_of, sqlstate, unavailable

_log = logging.getLogger(__name__)

Result = TypeVar("Result")

_ALWAYS_RETRYABLE = frozenset({"40001", "40P01"})  # serialization failure, deadlock detected


@asynccontextmanager
async def write(engine: AsyncEngine, *, log_outage: bool = True) -> AsyncIterator[PgConnection]:
    """One transaction, committed when the block ends, rolled back if it raises.

    `log_outage=False`: the caller logs an unavailable database itself (the job
    runner: once per outage, not once per tick)."""
    try:
        async with engine.begin() as conn:
            yield await driver_of(conn)
    except Exception as exc:
        _raise_unavailable(exc, log=log_outage)
        raise


@asynccontextmanager
async def rehearsal(engine: AsyncEngine) -> AsyncIterator[PgConnection]:
    """One transaction, rolled back when the block ends: what a run would write, unwritten
    (and so never sent: events are sent only once committed)."""
    try:
        async with engine.connect() as conn, conn.begin() as transaction:
            yield await driver_of(conn)
            await transaction.rollback()
    except Exception as exc:
        _raise_unavailable(exc, log=True)
        raise


async def write_retrying(
    engine: AsyncEngine,
    work: Callable[[PgConnection], Awaitable[Result]],
    *,
    retry_on: Callable[[DatabaseError], bool] = lambda _error: False,
    attempts: int = 3,
) -> Result:
    """`work` in a transaction, run again (up to `attempts` in all) after a deadlock,
    a serialization failure, or an error `retry_on` accepts."""
    for attempt in range(1, attempts + 1):
        try:
            async with write(engine) as conn:
                return await work(conn)
        except DATABASE_ERRORS as error:
            retryable = sqlstate(error) in _ALWAYS_RETRYABLE or retry_on(error)
            if not retryable or attempt == attempts:
                raise
            _log.info("transaction collided (%s); running it again", sqlstate(error))
    raise AssertionError("unreachable: the last attempt returns or raises")


def _raise_unavailable(exc: Exception, *, log: bool) -> None:
    """Raise `StoreUnavailable` for a database that cannot serve now; return otherwise."""
    mapped = unavailable(exc)
    if mapped is None or mapped is exc:
        return
    if log:
        _log.warning("database unavailable: %s", kind_of(exc))
    raise mapped from exc
