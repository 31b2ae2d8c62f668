"""Metric samples, and the one-a-second publication of their latest values.

Every sample is kept (for METRIC_RETENTION_DAYS). Subscribers get a `metric` /
`updated` message at most once a second per (metric, environment), carrying
the latest value, and never miss the last value of a burst:

- `metric_latest` holds, per key, the newest value and when it was last
  published. Recording a sample upserts it in one statement that also decides,
  under the row's lock, whether a second has passed since the last
  publication: if so the message goes out with this transaction (leading
  edge), else the row is marked pending.
- `publish_pending` (a job, every quarter second, one process of the cluster
  at a time) sends each pending row whose second is up (trailing edge), so
  the value a burst ended on always goes out, a second after the one before.

The database's clock decides, so processes on different hosts agree, and a
message's `timestamp` is the time of its publication.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

import orjson
from sqlalchemy import RowMapping, delete, insert, select, text
from sqlalchemy.ext.asyncio import AsyncConnection

from app.contract.payloads import MetricData
from app.db.driver import driver_of
from app.db.schema import metric_latest, metric_samples
from app.store import outbox
from app.store.outbox import NewEvent

MIN_INTERVAL_SECONDS = 1.0
PUBLISH_BATCH = 1000
RETENTION_BATCH = 10_000

_OFFER = text(
    """
    INSERT INTO metric_latest AS m
        (metric_name, environment, value, unit, timestamp, metadata, updated_at, last_published_at, pending)
    VALUES (:metric_name, :environment, :value, :unit, :timestamp, CAST(:metadata AS jsonb),
            statement_timestamp(), statement_timestamp(), false)
    ON CONFLICT (metric_name, environment) DO UPDATE SET
        value = EXCLUDED.value, unit = EXCLUDED.unit, timestamp = EXCLUDED.timestamp,
        metadata = EXCLUDED.metadata, updated_at = EXCLUDED.updated_at,
        pending = m.last_published_at > statement_timestamp() - make_interval(secs => :interval),
        last_published_at = CASE
            WHEN m.last_published_at > statement_timestamp() - make_interval(secs => :interval)
            THEN m.last_published_at ELSE statement_timestamp() END
    WHERE m.timestamp <= EXCLUDED.timestamp
    RETURNING pending, last_published_at
    """
)

_DUE = text(
    """
    UPDATE metric_latest m SET pending = false, last_published_at = statement_timestamp()
    FROM (
        SELECT metric_name, environment FROM metric_latest
        WHERE pending AND last_published_at <= statement_timestamp() - make_interval(secs => :interval)
        ORDER BY last_published_at LIMIT :limit
        FOR UPDATE SKIP LOCKED
    ) due
    WHERE m.metric_name = due.metric_name AND m.environment = due.environment
    RETURNING m.metric_name, m.environment, m.value, m.unit, m.timestamp, m.metadata, m.last_published_at
    """
)


async def record_samples(conn: AsyncConnection, samples: Sequence[MetricData]) -> int:
    """Keep `samples` and offer each key's newest one for publication; return the events appended."""
    if not samples:
        return 0
    await conn.execute(insert(metric_samples), [_sample_row(sample) for sample in samples])
    newest: dict[tuple[str, str], MetricData] = {}
    for sample in samples:
        key = (sample.metric_name, sample.environment or "")
        if key not in newest or newest[key].timestamp <= sample.timestamp:
            newest[key] = sample
    new_events = []
    for key in sorted(newest):  # one lock order for every writer
        event = await _offer(conn, newest[key])
        if event is not None:
            new_events.append(event)
    return await outbox.append(await driver_of(conn), new_events)


async def _offer(conn: AsyncConnection, sample: MetricData) -> NewEvent | None:
    row = _sample_row(sample)
    row["metadata"] = None if sample.metadata is None else _json(sample.metadata)
    found = (await conn.execute(_OFFER, {**row, "interval": MIN_INTERVAL_SECONDS})).first()
    if found is None or found.pending:
        return None  # older than the value held, or held back until its second is up
    return _event(sample, found.last_published_at)


async def publish_pending(conn: AsyncConnection) -> int:
    """Publish every held-back value whose second is up (the trailing edge)."""
    rows = (await conn.execute(_DUE, {"interval": MIN_INTERVAL_SECONDS, "limit": PUBLISH_BATCH})).mappings().all()
    new_events = [_event(_latest(row), row["last_published_at"]) for row in rows]
    return await outbox.append(await driver_of(conn), new_events)


async def latest_value(conn: AsyncConnection, metric_name: str, environment: str | None) -> MetricData | None:
    row = (
        (
            await conn.execute(
                select(metric_latest).where(
                    metric_latest.c.metric_name == metric_name, metric_latest.c.environment == (environment or "")
                )
            )
        )
        .mappings()
        .first()
    )
    return None if row is None else _latest(row)


def _latest(row: RowMapping) -> MetricData:
    """A `metric_latest` row as the contract's metric (no environment is stored as '')."""
    return MetricData(
        metric_name=row["metric_name"],
        value=row["value"],
        unit=row["unit"],
        environment=row["environment"] or None,
        timestamp=row["timestamp"],
        metadata=row["metadata"],
    )


async def delete_expired_samples(conn: AsyncConnection, *, older_than: datetime) -> int:
    """Delete up to a batch of samples older than `older_than`; return how many."""
    doomed = (
        select(metric_samples.c.id)
        .where(metric_samples.c.timestamp < older_than)
        .limit(RETENTION_BATCH)
        .scalar_subquery()
    )
    result = await conn.execute(delete(metric_samples).where(metric_samples.c.id.in_(doomed)))
    # Latest values nobody has sent for a whole retention period go too.
    await conn.execute(
        delete(metric_latest).where(metric_latest.c.updated_at < older_than, metric_latest.c.pending.is_(False))
    )
    return int(result.rowcount or 0)


def _event(sample: MetricData, published_at: datetime) -> NewEvent:
    return NewEvent(
        topic="metric",
        action="updated",
        data=sample.wire(),
        timestamp=published_at,
        environment=sample.environment,
    )


def _sample_row(sample: MetricData) -> dict[str, Any]:
    return {
        "metric_name": sample.metric_name,
        "environment": sample.environment or "",
        "value": sample.value,
        "unit": sample.unit,
        "timestamp": sample.timestamp,
        "metadata": sample.metadata,
    }


def _json(value: dict[str, Any]) -> str:
    return orjson.dumps(value).decode()
