"""Keeping the raw delivery log to DELIVERY_RETENTION_DAYS.

Deleted oldest first in batches, each its own transaction (so none holds its
locks or its WAL for long), one after the other until caught up (app/jobs.py):
a backlog (the first run after lowering the setting, or hours of a storm) goes
at the rate PostgreSQL deletes, not a fixed number of rows a minute.
"""

from __future__ import annotations

from datetime import timedelta

from app.clock import utcnow
from app.config import Settings
from app.db.driver import PgConnection
from app.jobs import JobBody, Jobs
from app.store.deliveries import purge_before

JOB_NAME = "delivery-retention"
BATCH = 10_000


def delivery_retention(settings: Settings) -> JobBody:
    """One batch: delete deliveries older than DELIVERY_RETENTION_DAYS; True while a whole batch went."""
    keep = timedelta(days=settings.delivery_retention_days)

    async def run(conn: PgConnection) -> bool:
        return await purge_before(conn, utcnow() - keep, batch=BATCH) == BATCH

    return run


def register_delivery_jobs(jobs: Jobs, settings: Settings) -> None:
    jobs.add(JOB_NAME, settings.retention_interval_seconds, delivery_retention(settings))
