"""Keeping the event log to EVENT_RETENTION_HOURS.

Events are purged as a prefix of the log, in position order, and the purge
point is recorded: a client resuming from before it is told its replay is
incomplete (RESUME_TOO_OLD) and re-fetches, instead of silently missing events.
The job deletes in batches, each its own transaction, one after the other
until it has caught up (app/jobs.py): it keeps up with any ingest rate the
service can reach, not a fixed number of rows a minute.
"""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection

from app.clock import utcnow
from app.config import Settings
from app.jobs import Jobs

# Rows deleted per transaction: small enough that one holds its locks and its
# WAL briefly, large enough that a backlog goes at tens of thousands a second
# (bench/retention.py). The job runs again at once while a whole batch went.
BATCH = 10_000

# The batch is the log's head after the purge point, read by position (the
# unique index), never a scan of what is kept: it costs the same whether a
# thousand or a million events are due. It stops short at the head's first
# event to keep, so what is purged stays a prefix of the log.
_PURGE = text(
    """
    WITH head AS (
        SELECT position, created_at FROM events
        WHERE position > (SELECT purged_through FROM event_log_state WHERE id = 1)
        ORDER BY position
        LIMIT :batch
    ),
    first_kept AS (
        SELECT coalesce(min(position) FILTER (WHERE created_at >= :cutoff), 9223372036854775807) AS position
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
)


async def purge_batch(conn: AsyncConnection, retention: timedelta, *, batch: int = BATCH) -> tuple[int, int]:
    """Delete up to `batch` of the oldest events older than `retention`, as a prefix of the
    log; return the purge point and how many went."""
    row = (await conn.execute(_PURGE, {"cutoff": utcnow() - retention, "batch": batch})).one()
    return int(row[0]), int(row[1])


async def purge(conn: AsyncConnection, retention: timedelta) -> int:
    """Delete one batch of events older than `retention`; return the purge point."""
    return (await purge_batch(conn, retention))[0]


async def purged_through(conn: AsyncConnection) -> int:
    result = await conn.execute(text("SELECT purged_through FROM event_log_state WHERE id = 1"))
    return int(result.scalar_one_or_none() or 0)


def register_jobs(jobs: Jobs, settings: Settings) -> None:
    retention = timedelta(hours=settings.event_retention_hours)

    async def run(conn: AsyncConnection) -> bool:
        _, deleted = await purge_batch(conn, retention)
        return deleted == BATCH

    jobs.add("event-retention", settings.retention_interval_seconds, run)
