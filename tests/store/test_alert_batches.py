"""Alerts applied as a set (app/store/alerts.py): a storm's worth in one transaction
without filling PostgreSQL's lock table, each alert decided once however many
writers race, and a batch naming an alert twice decided in order."""

from __future__ import annotations

import asyncio
from datetime import timedelta

from app.clock import utcnow
from app.db import driver
from app.db.driver import BEGIN, COMMIT, Statement, run
from app.domain.alerts import AlertBatch, AlertSignal
from app.store.alerts import ALERT_WRITER, LOCK_BUCKETS, apply_alert_batches
from tests.support.alerts import count, rows

_BEGAN = utcnow() - timedelta(minutes=10)


def _signal(index: int, status: str = "firing") -> AlertSignal:
    return AlertSignal(
        source="alertmanager", fingerprint=f"fp{index}", status=status,  # type: ignore[arg-type]
        metric="KubePodCrashLooping", value=1.0, threshold=0.0, operator="greater_than",
        environment="production", severity="critical", starts_at=_BEGAN,
        ends_at=utcnow() if status == "resolved" else None, labels={"pod": f"pod-{index}"},
    )  # fmt: skip


async def test_a_group_of_5000_alerts_takes_at_most_one_lock_per_bucket(database_url: str) -> None:
    """PostgreSQL's shared lock table holds max_locks_per_transaction (64) per connection: a
    lock per alert of a 5,000-alert group would not fit beside a second storm."""
    batch = AlertBatch(signals=tuple(_signal(i) for i in range(5000)))
    conn = await driver.connect(database_url, autocommit=True)
    async with conn:
        reads = ALERT_WRITER.reads([batch])
        await run(conn, [BEGIN, reads.lock, reads.load])
        (locks,) = await run(
            conn,
            [Statement("SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND pid = pg_backend_pid()")],
        )
        plan = ALERT_WRITER.plan([batch], [], utcnow())
        await run(conn, [*plan.writes, COMMIT])

    assert 0 < locks[0][0] <= LOCK_BUCKETS
    assert plan.produced == [5000]
    assert (
        count(database_url, "alerts") == count(database_url, "events") == count(database_url, "alert_history") == 5000
    )


async def test_writers_racing_on_the_same_alerts_create_each_alert_once(database_url: str) -> None:
    batch = AlertBatch(signals=tuple(_signal(i) for i in range(300)))
    connections = [await driver.connect(database_url) for _ in range(4)]

    async def write(conn: driver.PgConnection) -> int:
        async with conn.transaction():
            return (await apply_alert_batches(conn, [batch], now=utcnow()))[0]

    try:
        produced = await asyncio.gather(*(write(conn) for conn in connections))
    finally:
        for conn in connections:
            await conn.close()

    assert sorted(produced) == [0, 0, 0, 300]
    assert rows(database_url, "SELECT action, count(*) FROM events GROUP BY action") == [("created", 300)]


async def test_a_batch_naming_an_alert_twice_decides_each_in_order(database_url: str) -> None:
    conn = await driver.connect(database_url)
    async with conn, conn.transaction():
        produced = await apply_alert_batches(
            conn, [AlertBatch(signals=(_signal(1),)), AlertBatch(signals=(_signal(1, "resolved"), _signal(1)))],
            now=utcnow(),
        )  # fmt: skip

    assert produced == [1, 1]  # created; then resolved, and the late firing of the same occurrence changes nothing
    assert rows(database_url, "SELECT status FROM alerts") == [("resolved",)]
    assert rows(database_url, "SELECT action, status FROM alert_history ORDER BY id") == [
        ("created", "firing"),
        ("updated", "resolved"),
    ]
