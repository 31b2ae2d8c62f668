"""Alerts: apply what a delivery reports, keep each alert's history, and mark
the silent ones stale; every change with its event, in the caller's transaction."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any

from sqlalchemy import RowMapping, insert, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.ext.asyncio import AsyncConnection

from app.contract.payloads import AlertData
from app.db.driver import driver_of
from app.db.schema import alert_history, alerts
from app.domain.alerts import AlertBatch, AlertDecision, AlertSignal, StoredAlert, mark_stale, plan_alert
from app.errors import InvalidPayload
from app.events import outbox
from app.events.model import NewEvent
from app.store.locks import lock_entity

_PAYLOAD_COLUMNS = tuple(AlertData.model_fields)
# Stale alerts marked per job tick: a backlog is worked off over a few ticks.
STALE_BATCH = 500


async def apply_alert_batch(conn: AsyncConnection, batch: AlertBatch, *, now: datetime) -> int:
    """Store what `batch` reports; return how many events it produced (maybe none).

    Alerts a truncated group left out are not in `batch` and are left alone:
    absence from a notification never resolves anything."""
    new_events: list[NewEvent] = []
    # One lock order for every delivery, so two groups sharing alerts cannot deadlock.
    for signal in sorted(batch.signals, key=lambda s: s.id):
        event = await _apply_signal(conn, signal, now)
        if event is not None:
            new_events.append(event)
    return await outbox.append(await driver_of(conn), new_events)


async def _apply_signal(conn: AsyncConnection, signal: AlertSignal, now: datetime) -> NewEvent | None:
    await lock_entity(await driver_of(conn), f"alert:{signal.id}")
    current = await load_alert(conn, signal.id)
    if current is not None and current.source != signal.source:
        raise InvalidPayload(f"alert id {signal.id!r} belongs to another sender's alert")
    decision = plan_alert(current, signal, now)
    squad = signal.squad or (current.squad if current else None)
    await _write(conn, signal, decision, squad, now, exists=current is not None)
    if decision.action is None:
        return None
    await _record_history(conn, decision.payload, decision.action, now)
    return _event(decision.action, decision.payload, squad, now)


async def load_alert(conn: AsyncConnection, alert_id: str) -> StoredAlert | None:
    row = (await conn.execute(select(alerts).where(alerts.c.id == alert_id))).mappings().first()
    return None if row is None else _stored(row)


def _stored(row: RowMapping) -> StoredAlert:
    payload = AlertData.model_validate({name: row[name] for name in _PAYLOAD_COLUMNS})
    return StoredAlert(source=row["source"], payload=payload, squad=row["squad"], last_seen_at=row["last_seen_at"])


async def _write(
    conn: AsyncConnection,
    signal: AlertSignal,
    decision: AlertDecision,
    squad: str | None,
    now: datetime,
    *,
    exists: bool,
) -> None:
    values: dict[str, Any] = {
        **decision.payload.model_dump(),
        "squad": squad,
        "labels": dict(signal.labels),
        "annotations": dict(signal.annotations),
        "summary": signal.summary,
        "last_seen_at": now,
    }
    if decision.action is not None:
        values["updated_at"] = now
    if not exists:
        statement = pg_insert(alerts).values(fingerprint=signal.fingerprint, source=signal.source, **values)
        await conn.execute(statement)
        return
    await conn.execute(update(alerts).where(alerts.c.id == signal.id).values(values))


async def _record_history(conn: AsyncConnection, payload: AlertData, action: str, now: datetime) -> None:
    await conn.execute(
        insert(alert_history).values(
            alert_id=payload.id, action=action, status=payload.status, data=payload.wire(), changed_at=now
        )
    )


def _event(action: str, payload: AlertData, squad: str | None, now: datetime) -> NewEvent:
    assert action in ("created", "updated")
    return NewEvent(
        topic="alert",
        action="created" if action == "created" else "updated",
        data=payload.wire(),
        timestamp=now,
        squad=squad,
        environment=payload.environment,
    )


async def mark_stale_alerts(
    conn: AsyncConnection, *, now: datetime, seen_before: datetime, sources: Iterable[str]
) -> int:
    """Mark firing alerts of `sources` not seen since `seen_before` stale; return how many."""
    candidates = (
        await conn.execute(
            select(alerts.c.id)
            .where(alerts.c.status == "firing", alerts.c.last_seen_at < seen_before, alerts.c.source.in_(list(sources)))
            .order_by(alerts.c.id)
            .limit(STALE_BATCH)
        )
    ).scalars()
    new_events: list[NewEvent] = []
    for alert_id in list(candidates):
        await lock_entity(await driver_of(conn), f"alert:{alert_id}")
        row = (await conn.execute(select(alerts).where(alerts.c.id == alert_id))).mappings().first()
        # Re-read under the lock: a notification may have arrived meanwhile.
        if row is None or row["status"] != "firing" or row["last_seen_at"] >= seen_before:
            continue
        stale = mark_stale(_stored(row).payload)
        await conn.execute(update(alerts).where(alerts.c.id == alert_id).values(status="stale", updated_at=now))
        await _record_history(conn, stale, "updated", now)
        new_events.append(_event("updated", stale, row["squad"], now))
    return await outbox.append(await driver_of(conn), new_events)


async def alert_history_of(conn: AsyncConnection, alert_id: str) -> list[dict[str, Any]]:
    rows = await conn.execute(
        select(alert_history.c.action, alert_history.c.status, alert_history.c.data, alert_history.c.changed_at)
        .where(alert_history.c.alert_id == alert_id)
        .order_by(alert_history.c.id)
    )
    return [dict(row) for row in rows.mappings()]
