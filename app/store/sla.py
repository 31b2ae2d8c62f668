"""Reading incidents for SLA figures (when each one was resolved), and publishing
the figures as `metric` messages when they change.

An incident's resolution time is when it last entered resolved or closed
without being reopened since: the first transition into resolved/closed after
its latest transition into open or in_progress, as recorded by the trigger of
migration 0003a (`incident_status_changes`). Only incidents resolved or closed
now have one.

Published figures are scoped as `GET /api/metrics/sla` scopes them: each
squad's figures go to those who may see that squad's incidents (the message
carries the squad), and the organisation's to admins and tokens granting every
squad only (the message's squad is `*`, which no squad claim lists: `"*"` in a
claim means every squad, not a squad of that name). Nobody receives counts of
incidents it could not read.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select, text
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.ext.asyncio import AsyncConnection

from app.clock import iso
from app.contract.payloads import MetricData
from app.db.driver import driver_of
from app.db.schema import sla_published
from app.domain import sla
from app.domain.sla import IncidentTiming
from app.store import outbox
from app.store.outbox import NewEvent

# The scope of the organisation's figures: every squad.
EVERY_SQUAD = "*"

_TIMINGS = text(
    """
    SELECT i.severity, i.created_at, i.squad,
        CASE WHEN i.status IN ('resolved', 'closed') THEN (
            SELECT min(c.changed_at) FROM incident_status_changes c
            WHERE c.incident_id = i.id AND c.status IN ('resolved', 'closed')
              AND c.changed_at >= COALESCE((
                  SELECT max(o.changed_at) FROM incident_status_changes o
                  WHERE o.incident_id = i.id AND o.status IN ('open', 'in_progress')
              ), '-infinity'::timestamptz)
        ) END AS resolved_at
    FROM incidents i
    WHERE i.created_at >= :since AND (CAST(:squads AS text[]) IS NULL OR i.squad = ANY(CAST(:squads AS text[])))
    """
)


async def incident_timings(
    conn: AsyncConnection, *, since: datetime, squads: Iterable[str] | None = None
) -> list[IncidentTiming]:
    """Incidents created since `since` (of `squads`, or all), with their resolution times."""
    rows = await conn.execute(_TIMINGS, {"since": since, "squads": sorted(squads) if squads is not None else None})
    return [
        IncidentTiming(severity=row.severity, created_at=row.created_at, resolved_at=row.resolved_at, squad=row.squad)
        for row in rows
    ]


async def sla_report(
    conn: AsyncConnection,
    *,
    targets: dict[str, timedelta],
    window: timedelta,
    now: datetime,
    squads: Iterable[str] | None = None,
) -> dict[str, Any]:
    """The SLA figures over the rolling window, overall and by severity."""
    timings = await incident_timings(conn, since=now - window, squads=squads)
    overall = sla.figures(timings, targets, now)
    report = overall.as_dict()
    del report["target_seconds"]
    return {
        "generated_at": iso(now),
        "window_seconds": window.total_seconds(),
        **report,
        "by_severity": {
            severity: figures.as_dict() for severity, figures in sla.by_severity(timings, targets, now).items()
        },
    }


async def publish_sla(conn: AsyncConnection, *, targets: dict[str, timedelta], window: timedelta, now: datetime) -> int:
    """Publish `sla_percentage` and `mean_time_to_resolve` for the organisation and each
    squad, where they changed since last published; return the events."""
    timings = await incident_timings(conn, since=now - window)
    published = await _published(conn)
    scopes = {EVERY_SQUAD, *(t.squad for t in timings if t.squad), *(squad for _name, squad in published)}
    window_days = window.days
    changed: list[tuple[str, MetricData]] = []
    for scope in sorted(scopes):
        mine = [t for t in timings if scope in (EVERY_SQUAD, t.squad)]
        figures = sla.figures(mine, targets, now)
        metadata = _metadata(figures, window_days, scope)
        for name, value, unit in (
            ("sla_percentage", figures.sla_percentage, "percent"),
            ("mean_time_to_resolve", figures.mean_time_to_resolve_seconds, "seconds"),
        ):
            before = published.get((name, scope))
            if value is None or (before is None and not figures.total) or before == (value, metadata):
                continue  # nothing to say yet, or nothing new
            changed.append(
                (scope, MetricData(metric_name=name, value=value, unit=unit, timestamp=now, metadata=metadata))
            )
    await _remember(conn, changed, now)
    return await outbox.append(await driver_of(conn), [_event(scope, sample) for scope, sample in changed])


def _metadata(figures: sla.SlaFigures, window_days: int, scope: str) -> dict[str, Any]:
    metadata: dict[str, Any] = {"window_days": window_days, "incidents": figures.as_dict()["incidents"]}
    if scope != EVERY_SQUAD:
        metadata["squad"] = scope
    return metadata


async def _published(conn: AsyncConnection) -> dict[tuple[str, str], tuple[float, dict[str, Any]]]:
    rows = await conn.execute(
        select(sla_published.c.metric_name, sla_published.c.squad, sla_published.c.value, sla_published.c.metadata)
    )
    return {(row.metric_name, row.squad): (row.value, row.metadata) for row in rows}


async def _remember(conn: AsyncConnection, changed: list[tuple[str, MetricData]], now: datetime) -> None:
    if not changed:
        return
    rows = [
        {"metric_name": s.metric_name, "squad": scope, "value": s.value, "metadata": s.metadata, "published_at": now}
        for scope, s in changed
    ]
    statement = pg_insert(sla_published)
    await conn.execute(
        statement.on_conflict_do_update(
            index_elements=["metric_name", "squad"],
            set_={"value": statement.excluded.value, "metadata": statement.excluded.metadata, "published_at": now},
        ),
        rows,
    )


def _event(scope: str, sample: MetricData) -> NewEvent:
    return NewEvent(topic="metric", action="updated", data=sample.wire(), timestamp=sample.timestamp, squad=scope)
