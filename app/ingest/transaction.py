"""Opening a write transaction: the one way this layer does it.

A database that cannot serve now (unreachable, restarting, out of
connections, read-only) leaves as `StoreUnavailable`, logged once here with
what the driver said (never its message, which may name hosts and users).
Anything else the database says passes through unchanged: a collision the
caller handles, or a bug.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from typing import TypeVar

from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from app.db.failures import DatabaseError, kind_of, unavailable
from app.db.transactions import in_transaction

_log = logging.getLogger(__name__)

Result = TypeVar("Result")


@asynccontextmanager
async def write(engine: AsyncEngine) -> AsyncIterator[AsyncConnection]:
    """One transaction, committed when the block ends, rolled back if it raises."""
    try:
        async with engine.begin() as conn:
            yield conn
    except Exception as exc:
        _raise_unavailable(exc)
        raise


async def write_retrying(
    engine: AsyncEngine,
    work: Callable[[AsyncConnection], Awaitable[Result]],
    *,
    retry_on: Callable[[DatabaseError], bool] = lambda _error: False,
) -> Result:
    """`work` in a transaction, run again after a deadlock, a serialization failure
    or an error `retry_on` accepts (app/db/transactions.py)."""
    try:
        return await in_transaction(engine, work, retry_on=retry_on)
    except Exception as exc:
        _raise_unavailable(exc)
        raise


def _raise_unavailable(exc: Exception) -> None:
    """Raise `StoreUnavailable` for a database that cannot serve now; return otherwise."""
    mapped = unavailable(exc)
    if mapped is None or mapped is exc:
        return
    _log.warning("database unavailable: %s", kind_of(exc))
    raise mapped from exc
