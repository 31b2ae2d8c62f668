"""Running a use case in one transaction, again when the database says a retry will do.

Some collisions are only known at write time: two writers creating the same
new id, or two transactions locking rows in a cycle (PostgreSQL aborts one
with a deadlock). The loser's transaction is rolled back whole, so running it
again from the start sees the winner's commit and decides afresh.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import TypeVar

import psycopg
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from app.db.failures import DatabaseError, sqlstate

_log = logging.getLogger(__name__)

Result = TypeVar("Result")

_ALWAYS_RETRYABLE = frozenset({"40001", "40P01"})  # serialization failure, deadlock detected


async def in_transaction(
    engine: AsyncEngine,
    work: Callable[[AsyncConnection], Awaitable[Result]],
    *,
    retry_on: Callable[[DatabaseError], bool] = lambda _error: False,
    attempts: int = 3,
) -> Result:
    """`work` in a transaction, run again (up to `attempts` in all) after a deadlock,
    a serialization failure, or an error `retry_on` accepts."""
    for attempt in range(1, attempts + 1):
        try:
            async with engine.begin() as conn:
                return await work(conn)
        except (DBAPIError, psycopg.Error) as error:
            retryable = sqlstate(error) in _ALWAYS_RETRYABLE or retry_on(error)
            if not retryable or attempt == attempts:
                raise
            _log.info("transaction collided (%s); running it again", sqlstate(error))
    raise AssertionError("unreachable: the last attempt returns or raises")
