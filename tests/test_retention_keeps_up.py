"""Retention keeps up: a backlog of any size goes in one run of each retention job, and
under sustained writes the retained tables stay flat past their horizon.

Against a real server and its own jobs (the leader's), on real tables: events, raw
webhook deliveries and metric samples."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import cast

import psycopg

from tests.conftest import make_settings
from tests.support.server import server_in_thread

_TABLES = {"events": "created_at", "webhook_deliveries": "received_at", "metric_samples": "timestamp"}
# More than two batches of each table: one batch per tick (every 60 s, 300 s for samples)
# left most of it for minutes.
_BACKLOG = 25_000
_DEADLINE = 60.0


def _insert(conn: psycopg.Connection[tuple[object, ...]], rows: int, age: str) -> None:
    """`rows` of each retained table, each `age` old."""
    conn.execute(
        "INSERT INTO events (topic, action, message, created_at) "
        """SELECT 'task', 'created', '{"n": 1}', now() - %s::interval FROM generate_series(1, %s)""",
        (age, rows),
    )
    conn.execute(
        "INSERT INTO webhook_deliveries (sender, received_at, body, outcome) "
        "SELECT 'jira', now() - %s::interval, '{}'::bytea, 'applied' FROM generate_series(1, %s)",
        (age, rows),
    )
    conn.execute(
        "INSERT INTO metric_samples (metric_name, environment, value, timestamp) "
        "SELECT 'cpu', 'prod', n, now() - %s::interval FROM generate_series(1, %s) AS n",
        (age, rows),
    )


def _counts(conn: psycopg.Connection[tuple[object, ...]], older_than: str | None = None) -> dict[str, int]:
    counts = {}
    for table, column in _TABLES.items():
        where = f" WHERE {column} < now() - %s::interval" if older_than else ""
        row = conn.execute(f"SELECT count(*) FROM {table}{where}", (older_than,) if older_than else ()).fetchone()
        counts[table] = cast(int, row[0]) if row else -1
    return counts


async def test_a_backlog_of_several_batches_goes_in_one_run_of_each_job(database_url: str, tmp_path: Path) -> None:
    with psycopg.connect(database_url, autocommit=True) as conn:
        _insert(conn, _BACKLOG, "40 days")
        _insert(conn, 10, "1 hour")
        settings = make_settings(database_url, tmp_path)  # the default retention: 7 days, 30 days, 30 days
        with server_in_thread(settings):
            async with asyncio.timeout(_DEADLINE):
                while True:
                    if not any(_counts(conn, older_than="31 days").values()):
                        break
                    await asyncio.sleep(0.2)
        kept = _counts(conn)
        purged_through = conn.execute("SELECT purged_through FROM event_log_state").fetchone()

    assert kept == dict.fromkeys(_TABLES, 10)
    assert purged_through == (_BACKLOG,)


async def test_under_sustained_writes_the_tables_stay_flat_past_the_retention_horizon(
    database_url: str, tmp_path: Path
) -> None:
    horizon_seconds = 3.0
    settings = make_settings(
        database_url,
        tmp_path,
        event_retention_hours=horizon_seconds / 3600,
        delivery_retention_days=horizon_seconds / 86400,
        metric_retention_days=horizon_seconds / 86400,
        retention_interval_seconds=0.5,
    )
    # 1,000 rows a table a second for five horizons, sampled as they go.
    rounds, per_round, pause = 60, 250, 0.25
    samples: list[dict[str, int]] = []
    overdue: list[dict[str, int]] = []
    with server_in_thread(settings), psycopg.connect(database_url, autocommit=True) as conn:
        for number in range(rounds):
            _insert(conn, per_round, "0 seconds")
            await asyncio.sleep(pause)  # the write rate is the test's subject: a paced writer
            if number * pause > 2 * horizon_seconds:
                samples.append(_counts(conn))
                # Twice the horizon: whatever the machine's load, nothing is left that long.
                overdue.append(_counts(conn, older_than=f"{2 * horizon_seconds} seconds"))
        written = rounds * per_round

    assert all(counts == dict.fromkeys(_TABLES, 0) for counts in overdue), overdue
    for table in _TABLES:
        sizes = [counts[table] for counts in samples]
        # Flat: the last third holds no more than the first third did (with room for jitter),
        # and far less than everything written.
        third = len(sizes) // 3
        assert max(sizes[-third:]) <= 1.5 * max(sizes[:third]), (table, sizes)
        assert max(sizes) < written / 2, (table, sizes)
