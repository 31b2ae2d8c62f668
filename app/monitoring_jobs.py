"""The periodic work of alerts and metrics, run by the service itself (app/jobs.py):

- `alerts-stale`: firing alerts of the repeating senders (ALERT_STALE_SOURCES)
  not re-sent for ALERT_STALE_AFTER_SECONDS become stale, and stale ones not
  heard of for ALERT_EXPIRE_AFTER_SECONDS expire (`age_alerts_now`);
- `metrics-publish`: every quarter second, the held-back latest values whose
  second is up are published (the trailing edge of the one-a-second rule);
- `metrics-retention`: samples older than METRIC_RETENTION_DAYS are deleted;
- `sla-publish`: the SLA figures are recomputed and published as metrics when
  they change.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy.ext.asyncio import AsyncConnection

from app.clock import utcnow
from app.config import Settings
from app.contract.payloads import MetricData
from app.domain.sla import parse_targets
from app.jobs import Jobs
from app.store.alert_aging import age_alerts
from app.store.metrics import delete_expired_samples, latest_value, publish_pending, record_samples
from app.store.sla import sla_report

PUBLISH_INTERVAL_SECONDS = 0.25
RETENTION_INTERVAL_SECONDS = 300.0


def register_monitoring_jobs(jobs: Jobs, settings: Settings) -> None:
    async def stale(conn: AsyncConnection) -> None:
        await age_alerts_now(conn, settings)

    async def retention(conn: AsyncConnection) -> None:
        await delete_expired_samples(conn, older_than=utcnow() - timedelta(days=settings.metric_retention_days))

    async def publish(conn: AsyncConnection) -> None:
        await publish_pending(conn)

    async def sla(conn: AsyncConnection) -> None:
        await publish_sla(conn, settings)

    jobs.add("alerts-stale", min(60.0, settings.alert_stale_after_seconds / 4), stale)
    jobs.add("metrics-publish", PUBLISH_INTERVAL_SECONDS, publish)
    jobs.add("metrics-retention", RETENTION_INTERVAL_SECONDS, retention)
    jobs.add("sla-publish", settings.sla_publish_interval_seconds, sla)


async def age_alerts_now(conn: AsyncConnection, settings: Settings, now: datetime | None = None) -> int:
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


async def publish_sla(conn: AsyncConnection, settings: Settings) -> int:
    """Publish `sla_percentage` and `mean_time_to_resolve` where they changed; return the events."""
    now = utcnow()
    report = await sla_report(
        conn, targets=parse_targets(settings.sla_targets), window=timedelta(days=settings.sla_window_days), now=now
    )
    metadata: dict[str, Any] = {"window_days": settings.sla_window_days, "incidents": report["incidents"]}
    candidates = [
        ("sla_percentage", report["sla_percentage"], "percent", metadata),
        ("mean_time_to_resolve", report["mean_time_to_resolve_seconds"], "seconds", metadata),
    ]
    changed = []
    for name, value, unit, meta in candidates:
        if value is None:
            continue
        current = await latest_value(conn, name, None)
        if current is None and not report["incidents"]["total"]:
            continue  # no incident yet: no figure to announce
        if current is not None and current.value == value and current.metadata == meta:
            continue
        changed.append(MetricData(metric_name=name, value=value, unit=unit, timestamp=now, metadata=meta))
    return await record_samples(conn, changed)
