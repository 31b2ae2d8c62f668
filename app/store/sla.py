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

Built as statements (app/db/driver.py): a publication is two messages (the
incidents' timings with what was last published, then what changed and its
events). `GET /api/metrics/sla` reads the same timings statement through
SQLAlchemy, as the API reads.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy.ext.asyncio import AsyncConnection

from app.clock import iso
from app.contract.payloads import MetricData
from app.db.driver import PgConnection, Rows, Statement, rows_json, run
from app.domain import sla
from app.domain.sla import IncidentTiming
from app.store import outbox
from app.store.outbox import NewEvent

# The scope of the organisation's figures: every squad.
EVERY_SQUAD = "*"

_TIMINGS = """
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
    WHERE i.created_at >= %s AND (%s::json IS NULL OR i.squad IN (SELECT json_array_elements_text(%s::json)))
"""
_PUBLISHED = "SELECT metric_name, squad, value, metadata FROM sla_published"
_REMEMBER = (
    "INSERT INTO sla_published (metric_name, squad, value, metadata, published_at) "
    "SELECT metric_name, squad, value, metadata, published_at "
    "FROM json_populate_recordset(NULL::sla_published, %s::json) "
    "ON CONFLICT (metric_name, squad) DO UPDATE SET "
    "value = excluded.value, metadata = excluded.metadata, published_at = excluded.published_at"
)


def _timings_statement(*, since: datetime, squads: Iterable[str] | None = None) -> Statement:
    """Incidents created since `since` (of `squads`, or all), with their resolution times."""
    chosen = rows_json(sorted(squads)) if squads is not None else None
    return Statement(_TIMINGS, (since, chosen, chosen))


def _timings(rows: Iterable[Any]) -> list[IncidentTiming]:
    return [
        IncidentTiming(severity=severity, created_at=created_at, resolved_at=resolved_at, squad=squad)
        for severity, created_at, squad, resolved_at in rows
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
    statement = _timings_statement(since=now - window, squads=squads)
    timings = _timings(await conn.exec_driver_sql(statement.sql, statement.params))
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


async def publish_sla(conn: PgConnection, *, targets: dict[str, timedelta], window: timedelta, now: datetime) -> int:
    """Publish `sla_percentage` and `mean_time_to_resolve` for the organisation and each
    squad, where they changed since last published; return the events."""
    timing_rows, published_rows = await run(conn, [_timings_statement(since=now - window), Statement(_PUBLISHED)])
    timings = _timings(timing_rows)
    published = _published(published_rows)
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
    new_events = [_event(scope, sample) for scope, sample in changed]
    await run(conn, [*_remember(changed, now), *outbox.append_statements(new_events)])
    return len(new_events)


def _metadata(figures: sla.SlaFigures, window_days: int, scope: str) -> dict[str, Any]:
    metadata: dict[str, Any] = {"window_days": window_days, "incidents": figures.as_dict()["incidents"]}
    if scope != EVERY_SQUAD:
        metadata["squad"] = scope
    return metadata


def _published(rows: Rows) -> dict[tuple[str, str], tuple[float, dict[str, Any]]]:
    return {(metric_name, squad): (value, metadata) for metric_name, squad, value, metadata in rows}


def _remember(changed: list[tuple[str, MetricData]], now: datetime) -> list[Statement]:
    if not changed:
        return []
    rows = [
        {"metric_name": s.metric_name, "squad": scope, "value": s.value, "metadata": s.metadata, "published_at": now}
        for scope, s in changed
    ]
    return [Statement(_REMEMBER, (rows_json(rows),))]


def _event(scope: str, sample: MetricData) -> NewEvent:
    return NewEvent(topic="metric", action="updated", data=sample.wire(), timestamp=sample.timestamp, squad=scope)
