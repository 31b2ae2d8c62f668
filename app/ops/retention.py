"""Keeping the raw delivery log to DELIVERY_RETENTION_DAYS.

Deleted oldest first in batches, one batch per tick, so a long backlog (the
first run after lowering the setting) is worked off over several ticks rather
than in one transaction that holds locks and bloats WAL.
"""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy.ext.asyncio import AsyncConnection

from app.clock import utcnow
from app.config import Settings
from app.jobs import JobBody, Jobs
from app.store.deliveries import purge_before

JOB_NAME = "delivery-retention"
BATCH = 5_000
_INTERVAL_SECONDS = 60.0


def delivery_retention(settings: Settings) -> JobBody:
    """One tick: delete a batch of deliveries older than DELIVERY_RETENTION_DAYS."""
    keep = timedelta(days=settings.delivery_retention_days)

    async def run(conn: AsyncConnection) -> None:
        await purge_before(conn, utcnow() - keep, batch=BATCH)

    return run


def register_delivery_jobs(jobs: Jobs, settings: Settings) -> None:
    jobs.add(JOB_NAME, _INTERVAL_SECONDS, delivery_retention(settings))
