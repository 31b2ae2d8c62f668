"""Keeping the event log to EVENT_RETENTION_HOURS.

Events are purged as a prefix of the log, in position order, and the purge
point is recorded: a client resuming from before it is told its replay is
incomplete (RESUME_TOO_OLD) and re-fetches, instead of silently missing events.
The job deletes in batches, each its own transaction, one after the other
until it has caught up (app/jobs.py): it keeps up with any ingest rate the
service can reach, not a fixed number of rows a minute. The purge is a
statement on the driver (app/db/driver.py), as every write is; where the log
was purged through is read through SQLAlchemy, as the API reads.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import timedelta
from typing import Protocol

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncConnection

from app.clock import utcnow
from app.config import Settings
from app.db.driver import PgConnection, Statement, run
from app.db.schema import event_log_state

# Rows deleted per transaction: small enough that one holds its locks and its
# WAL briefly, large enough that a backlog goes at tens of thousands a second
# (bench/retention.py). The job runs again at once while a whole batch went.
BATCH = 10_000

# The batch is the log's head after the purge point, read by position (the
# unique index), never a scan of what is kept: it costs the same whether a
# thousand or a million events are due. It stops short at the head's first
# event to keep, so what is purged stays a prefix of the log.
_PURGE = """
    WITH head AS (
        SELECT position, created_at FROM events
        WHERE position > (SELECT purged_through FROM event_log_state WHERE id = 1)
        ORDER BY position
        LIMIT %s
    ),
    first_kept AS (
        SELECT coalesce(min(position) FILTER (WHERE created_at >= %s), 9223372036854775807) AS position
        FROM head
    ),
    gone AS (
        DELETE FROM events
        WHERE position IN (SELECT head.position FROM head, first_kept WHERE head.position < first_kept.position)
        RETURNING position
    )
    UPDATE event_log_state
    SET purged_through = greatest(purged_through, (SELECT coalesce(max(position), 0) FROM gone))
    WHERE id = 1
    RETURNING purged_through, (SELECT count(*) FROM gone)
"""


async def purge_batch(conn: PgConnection, retention: timedelta, *, batch: int = BATCH) -> tuple[int, int]:
    """Delete up to `batch` of the oldest events older than `retention`, as a prefix of the
    log; return the purge point and how many went."""
    (rows,) = await run(conn, [Statement(_PURGE, (batch, utcnow() - retention))])
    purged, gone = rows[0]
    return int(purged), int(gone)


async def purge(conn: PgConnection, retention: timedelta) -> int:
    """Delete one batch of events older than `retention`; return the purge point."""
    return (await purge_batch(conn, retention))[0]


async def purged_through(conn: AsyncConnection) -> int:
    result = await conn.execute(select(event_log_state.c.purged_through).where(event_log_state.c.id == 1))
    return int(result.scalar_one_or_none() or 0)


class Chores(Protocol):
    """Where periodic work is registered: app/jobs.py's `Jobs`, named here by what the store
    needs of it (the runner opens its transactions through the use-case layer, above this one)."""

    def add(self, name: str, interval: float, run: Callable[[PgConnection], Awaitable[bool | None]]) -> None: ...


def register_jobs(jobs: Chores, settings: Settings) -> None:
    retention = timedelta(hours=settings.event_retention_hours)

    async def purge_some(conn: PgConnection) -> bool:
        _, deleted = await purge_batch(conn, retention)
        return deleted == BATCH

    jobs.add("event-retention", settings.retention_interval_seconds, purge_some)
