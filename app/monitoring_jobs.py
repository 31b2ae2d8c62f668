"""The periodic work of alerts and metrics, run by the service itself (app/jobs.py):

- `alerts-stale`: firing alerts of the repeating senders (ALERT_STALE_SOURCES)
  not re-sent for ALERT_STALE_AFTER_SECONDS become stale, and stale ones not
  heard of for ALERT_EXPIRE_AFTER_SECONDS expire (`age_alerts_now`);
- `metrics-publish`: every quarter second, the held-back latest values whose
  second is up are published (the trailing edge of the one-a-second rule);
- `metrics-retention`: samples older than METRIC_RETENTION_DAYS are deleted, in
  batches until caught up (every RETENTION_INTERVAL_SECONDS);
- `sla-publish`: the SLA figures (the organisation's and each squad's) are
  recomputed and published as metrics when they change (app/store/sla.py).
"""

from __future__ import annotations

from datetime import datetime, timedelta

from app.clock import utcnow
from app.config import Settings
from app.db.driver import PgConnection
from app.domain.sla import parse_targets
from app.jobs import Jobs
from app.store.alert_aging import age_alerts
from app.store.metric_samples import RETENTION_BATCH, delete_expired_samples, publish_pending
from app.store.sla import publish_sla as publish_sla_figures

PUBLISH_INTERVAL_SECONDS = 0.25


def register_monitoring_jobs(jobs: Jobs, settings: Settings) -> None:
    async def stale(conn: PgConnection) -> None:
        await age_alerts_now(conn, settings)

    async def retention(conn: PgConnection) -> bool:
        older_than = utcnow() - timedelta(days=settings.metric_retention_days)
        return await delete_expired_samples(conn, older_than=older_than) == RETENTION_BATCH

    async def publish(conn: PgConnection) -> None:
        await publish_pending(conn)

    async def sla(conn: PgConnection) -> None:
        await publish_sla(conn, settings)

    jobs.add("alerts-stale", min(60.0, settings.alert_stale_after_seconds / 4), stale)
    jobs.add("metrics-publish", PUBLISH_INTERVAL_SECONDS, publish)
    jobs.add("metrics-retention", settings.retention_interval_seconds, retention)
    jobs.add("sla-publish", settings.sla_publish_interval_seconds, sla)


async def age_alerts_now(conn: PgConnection, settings: Settings, now: datetime | None = None) -> int:
    """Mark stale what has not been re-sent for ALERT_STALE_AFTER_SECONDS, expire what has
    been silent for ALERT_EXPIRE_AFTER_SECONDS (as of `now`, default the clock's); return the events."""
    now = now or utcnow()
    return await age_alerts(
        conn,
        now=now,
        stale_before=now - timedelta(seconds=settings.alert_stale_after_seconds),
        expire_before=now - timedelta(seconds=settings.alert_expire_after_seconds),
        sources=settings.alert_stale_sources,
    )


async def publish_sla(conn: PgConnection, settings: Settings) -> int:
    """Publish the SLA figures (the organisation's and each squad's) where they changed; return the events."""
    return await publish_sla_figures(
        conn,
        targets=parse_targets(settings.sla_targets),
        window=timedelta(days=settings.sla_window_days),
        now=utcnow(),
    )
