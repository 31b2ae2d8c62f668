"""Reading incidents for SLA figures: when each one was resolved.

An incident's resolution time is when it last entered resolved or closed
without being reopened since: the first transition into resolved/closed after
its latest transition into open or in_progress, as recorded by the trigger of
migration 0003a (`incident_status_changes`). Only incidents resolved or closed
now have one.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection

from app.clock import iso
from app.domain import sla
from app.domain.sla import IncidentTiming

_TIMINGS = text(
    """
    SELECT i.severity, i.created_at,
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
        IncidentTiming(severity=row.severity, created_at=row.created_at, resolved_at=row.resolved_at) for row in rows
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
