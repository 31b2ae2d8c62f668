"""Keeping the event log to EVENT_RETENTION_HOURS.

Events are purged as a prefix of the log, in position order, and the purge
point is recorded: a client resuming from before it is told its replay is
incomplete (RESUME_TOO_OLD) and re-fetches, instead of silently missing events.
"""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection

from app.clock import utcnow
from app.config import Settings
from app.jobs import Jobs

# Rows deleted per tick: a long backlog is worked off over several ticks
# rather than in one transaction that holds locks and bloats WAL.
_BATCH = 10_000

_PURGE = text(
    """
    WITH boundary AS (
        SELECT coalesce(
            (SELECT position FROM events WHERE created_at >= :cutoff ORDER BY position LIMIT 1),
            (SELECT max(position) + 1 FROM events),
            0
        ) AS first_kept
    ),
    batch AS (
        SELECT position FROM events, boundary
        WHERE position < boundary.first_kept
        ORDER BY position
        LIMIT :batch
    ),
    gone AS (
        DELETE FROM events WHERE position IN (SELECT position FROM batch) RETURNING position
    )
    UPDATE event_log_state
    SET purged_through = greatest(purged_through, (SELECT coalesce(max(position), 0) FROM gone))
    RETURNING purged_through
    """
)


async def purge(conn: AsyncConnection, retention: timedelta) -> int:
    """Delete one batch of events older than `retention`; return the purge point."""
    result = await conn.execute(_PURGE, {"cutoff": utcnow() - retention, "batch": _BATCH})
    return int(result.scalar_one())


async def purged_through(conn: AsyncConnection) -> int:
    result = await conn.execute(text("SELECT purged_through FROM event_log_state WHERE id = 1"))
    return int(result.scalar_one_or_none() or 0)


def register_jobs(jobs: Jobs, settings: Settings) -> None:
    retention = timedelta(hours=settings.event_retention_hours)

    async def run(conn: AsyncConnection) -> None:
        await purge(conn, retention)

    jobs.add("event-retention", 60.0, run)
