"""Alerts whose senders fell silent: firing ones not re-sent for a while become
stale, stale ones still unheard of after a longer while expire (closed by the
service). Each change with its history and its event, in the caller's transaction.

Run by a periodic job (app/monitoring_jobs.py), a bounded number of alerts per
call, so a backlog is worked off over a few calls. The candidates are found
without locks, then locked (app/store/alerts.py's buckets) and read again: a
notification may have arrived meanwhile, and then the alert is left alone.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import replace
from datetime import datetime
from typing import Literal

from app.db.driver import PgConnection, Statement, rows_json, run
from app.domain.alerts import expire, mark_stale
from app.store import outbox
from app.store.alerts import AlertRow, alert_event, history_statements, load_statement, lock_statement, stored_alerts

# Alerts aged per call and per step: a backlog is worked off over a few calls.
AGING_BATCH = 500

_CANDIDATES = (
    "SELECT id FROM alerts WHERE status = %s AND last_seen_at < %s "
    "AND source IN (SELECT json_array_elements_text(%s::json)) ORDER BY last_seen_at LIMIT %s"
)
_AGE = (
    "UPDATE alerts AS a SET status = r.status, resolved_at = r.resolved_at, updated_at = r.updated_at "
    "FROM json_populate_recordset(NULL::alerts, %s::json) AS r WHERE a.id = r.id"
)


async def age_alerts(
    conn: PgConnection,
    *,
    now: datetime,
    stale_before: datetime,
    expire_before: datetime,
    sources: Iterable[str],
) -> int:
    """Mark firing alerts of `sources` last seen before `stale_before` stale, and stale ones
    last seen before `expire_before` expired; return the events (one per alert changed)."""
    senders = rows_json(sorted(set(sources)))
    firing, stale = await run(
        conn,
        [_candidates("firing", stale_before, senders), _candidates("stale", expire_before, senders)],
    )
    if not firing and not stale:
        return 0
    ids = [alert_id for (alert_id,) in (*firing, *stale)]
    _, read = await run(conn, [lock_statement(ids), load_statement(ids)])
    aged: list[AlertRow] = []
    for row in stored_alerts(read).values():
        step = _step(row, stale_before, expire_before)
        if step == "stale":
            aged.append(replace(row, payload=mark_stale(row.payload), updated_at=now))
        elif step == "expire":
            aged.append(replace(row, payload=expire(row.payload, now), updated_at=now))
    new_events = [alert_event("updated", row.payload, row.squad, now) for row in aged]
    writes = [Statement(_AGE, (rows_json([row.values() for row in aged]),))] if aged else []
    await run(conn, [*writes, *history_statements(new_events), *outbox.append_statements(new_events)])
    return len(new_events)


def _step(row: AlertRow, stale_before: datetime, expire_before: datetime) -> Literal["stale", "expire"] | None:
    """What `row`, read again under its lock, is due for: a notification may have arrived meanwhile."""
    if row.payload.status == "firing" and row.last_seen_at < stale_before:
        return "stale"
    if row.payload.status == "stale" and row.last_seen_at < expire_before:
        return "expire"
    return None


def _candidates(status: str, seen_before: datetime, senders: str) -> Statement:
    """The ids of alerts in `status` last seen before `seen_before`: found without locks."""
    return Statement(_CANDIDATES, (status, seen_before, senders, AGING_BATCH))
