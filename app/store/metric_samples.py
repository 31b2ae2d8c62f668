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

Built as statements (app/db/driver.py): recording a request's samples is two
messages whatever their number (the samples and every key's offer, then the
events of those that went out).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from app.contract.payloads import MetricData
from app.db.driver import PgConnection, Statement, rows_json, run
from app.store import outbox
from app.store.outbox import NewEvent

MIN_INTERVAL_SECONDS = 1.0
PUBLISH_BATCH = 1000
RETENTION_BATCH = 10_000

_RECORD = (
    "INSERT INTO metric_samples (metric_name, environment, value, unit, timestamp, metadata) "
    "SELECT metric_name, environment, value, unit, timestamp, metadata "
    "FROM json_populate_recordset(NULL::metric_samples, %s::json)"
)

# Every key's newest sample in one statement, in the order given (one lock order
# for every writer). A key is returned only where the sample was newer than the
# value held; `pending` says whether it must wait for its second.
_OFFER = """
    INSERT INTO metric_latest AS m
        (metric_name, environment, value, unit, timestamp, metadata, updated_at, last_published_at, pending)
    SELECT metric_name, environment, value, unit, timestamp, metadata,
           statement_timestamp(), statement_timestamp(), false
    FROM json_populate_recordset(NULL::metric_latest, %s::json) WITH ORDINALITY AS r ORDER BY r.ordinality
    ON CONFLICT (metric_name, environment) DO UPDATE SET
        value = EXCLUDED.value, unit = EXCLUDED.unit, timestamp = EXCLUDED.timestamp,
        metadata = EXCLUDED.metadata, updated_at = EXCLUDED.updated_at,
        pending = m.last_published_at > statement_timestamp() - make_interval(secs => %s),
        last_published_at = CASE
            WHEN m.last_published_at > statement_timestamp() - make_interval(secs => %s)
            THEN m.last_published_at ELSE statement_timestamp() END
    WHERE m.timestamp <= EXCLUDED.timestamp
    RETURNING metric_name, environment, pending, last_published_at
"""

_DUE = """
    UPDATE metric_latest m SET pending = false, last_published_at = statement_timestamp()
    FROM (
        SELECT metric_name, environment FROM metric_latest
        WHERE pending AND last_published_at <= statement_timestamp() - make_interval(secs => %s)
        ORDER BY last_published_at LIMIT %s
        FOR UPDATE SKIP LOCKED
    ) due
    WHERE m.metric_name = due.metric_name AND m.environment = due.environment
    RETURNING m.metric_name, m.environment, m.value, m.unit, m.timestamp, m.metadata, m.last_published_at
"""

_EXPIRED_SAMPLES = """
    WITH gone AS (
        DELETE FROM metric_samples
        WHERE id IN (SELECT id FROM metric_samples WHERE timestamp < %s LIMIT %s)
        RETURNING 1
    )
    SELECT count(*) FROM gone
"""
# Latest values nobody has sent for a whole retention period go too.
_EXPIRED_LATEST = "DELETE FROM metric_latest WHERE updated_at < %s AND NOT pending"


async def record_samples(conn: PgConnection, samples: Sequence[MetricData]) -> int:
    """Keep `samples` and offer each key's newest one for publication; return the events appended."""
    if not samples:
        return 0
    newest: dict[tuple[str, str], MetricData] = {}
    for sample in samples:
        key = (sample.metric_name, sample.environment or "")
        if key not in newest or newest[key].timestamp <= sample.timestamp:
            newest[key] = sample
    keys = sorted(newest)  # one lock order for every writer
    interval = MIN_INTERVAL_SECONDS
    _recorded, offered = await run(
        conn,
        [
            Statement(_RECORD, (rows_json([_sample_row(sample) for sample in samples]),)),
            Statement(_OFFER, (rows_json([_sample_row(newest[key]) for key in keys]), interval, interval)),
        ],
    )
    # Not offered: older than the value held. Pending: held back until its second is up.
    published = {(name, environment): at for name, environment, pending, at in offered if not pending}
    new_events = [_event(newest[key], published[key]) for key in keys if key in published]
    return await outbox.append(conn, new_events)


async def publish_pending(conn: PgConnection) -> int:
    """Publish every held-back value whose second is up (the trailing edge)."""
    (rows,) = await run(conn, [Statement(_DUE, (MIN_INTERVAL_SECONDS, PUBLISH_BATCH))])
    new_events = [_event(_latest(row[:6]), row[6]) for row in rows]
    return await outbox.append(conn, new_events)


def _latest(row: Sequence[Any]) -> MetricData:
    """A `metric_latest` row as the contract's metric (no environment is stored as '')."""
    metric_name, environment, value, unit, timestamp, metadata = row
    return MetricData(
        metric_name=metric_name,
        value=value,
        unit=unit,
        environment=environment or None,
        timestamp=timestamp,
        metadata=metadata,
    )


async def delete_expired_samples(conn: PgConnection, *, older_than: datetime) -> int:
    """Delete up to a batch of samples older than `older_than`; return how many."""
    counted, _ = await run(
        conn,
        [
            Statement(_EXPIRED_SAMPLES, (older_than, RETENTION_BATCH)),
            Statement(_EXPIRED_LATEST, (older_than,)),
        ],
    )
    return int(counted[0][0])


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
