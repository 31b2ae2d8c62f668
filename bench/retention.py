"""Retention: rows purged per second from each retained table, against the rate they were written.

    python -m bench.retention [--runs 3] [--rows 200000] [--json FILE]

On a fresh durable embedded cluster, each run fills each retained table
(events with a 1 KB message, raw deliveries with a 4 KB body, metric samples)
with `--rows` rows already past their retention, with 1,000 recent rows that
stay, then times the service's own retention job (the body the leader runs,
through app/jobs.py's catch-up loop: batches of 10,000, each its own
transaction) until it has caught up. The baseline, measured in the same runs:
how fast the same rows were written by one `INSERT ... SELECT` (the cheapest
write PostgreSQL offers, far above the service's webhook ingest: `bench.ingest`
measures about 1,000 webhooks/s). The issue's bar: purging at least 5x the
fastest ingest.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import time
from pathlib import Path

import psycopg

from app.config import Settings
from app.db.engine import create_engine
from app.jobs import Job, JobBody, Jobs, catch_up
from app.monitoring_jobs import register_monitoring_jobs
from app.ops.retention import register_delivery_jobs
from app.store import event_retention
from bench import harness

_RECENT = 1_000
# The job of each table, and how to fill it with `n` rows `age` old.
_TABLES = {
    "events": (
        "event-retention",
        "INSERT INTO events (topic, action, message, created_at) "
        "SELECT 'task', 'updated', json_build_object('pad', repeat('x', 1000)), now() - %s::interval "
        "FROM generate_series(1, %s)",
    ),
    "webhook_deliveries": (
        "delivery-retention",
        "INSERT INTO webhook_deliveries (sender, received_at, body, outcome) "
        "SELECT 'jira', now() - %s::interval, convert_to(repeat('x', 4000), 'UTF8'), 'applied' "
        "FROM generate_series(1, %s)",
    ),
    "metric_samples": (
        "metrics-retention",
        "INSERT INTO metric_samples (metric_name, environment, value, timestamp) "
        "SELECT 'cpu', 'prod', n, now() - %s::interval FROM generate_series(1, %s) AS n",
    ),
}


class _Collected(Jobs):
    def __init__(self) -> None:
        self.bodies: dict[str, JobBody] = {}

    def add(self, name: str, interval: float, run: JobBody) -> None:  # noqa: ARG002 - run at once here
        self.bodies[name] = run


def _job_bodies(database_url: str) -> dict[str, JobBody]:
    settings = Settings(_env_file=None, database_url=database_url)  # the default retention periods
    collected = _Collected()
    for register in (event_retention.register_jobs, register_delivery_jobs, register_monitoring_jobs):
        register(collected, settings)
    return collected.bodies


async def _one_run(database_url: str, rows: int) -> dict[str, float]:
    figures: dict[str, float] = {}
    bodies = _job_bodies(database_url)
    engine = create_engine(database_url)
    try:
        for table, (job_name, fill) in _TABLES.items():
            with psycopg.connect(database_url, autocommit=True) as conn:
                conn.execute(f"TRUNCATE {table}")
                conn.execute("UPDATE event_log_state SET purged_through = 0")
                started = time.perf_counter()
                conn.execute(fill, ("40 days", rows))
                written = time.perf_counter() - started
                conn.execute(fill, ("0 days", _RECENT))
                conn.execute(f"VACUUM ANALYZE {table}")
            job = Job(job_name, 60.0, bodies[job_name])
            started = time.perf_counter()
            await catch_up(engine, job)
            purged = time.perf_counter() - started
            with psycopg.connect(database_url, autocommit=True) as conn:
                row = conn.execute(f"SELECT count(*) FROM {table}").fetchone()
            left = int(row[0]) if row else -1
            if left != _RECENT:
                raise RuntimeError(f"{table}: {left} rows left after the purge, expected {_RECENT}")
            figures[f"{table}_purged_per_s"] = rows / purged
            figures[f"{table}_written_per_s"] = rows / written
    finally:
        await engine.dispose()
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--rows", type=int, default=200_000, help="rows past their retention, per table and run")
    parser.add_argument("--json", type=Path, help="write the figures here too (bench/all.py)")
    parser.add_argument("--workers", help="ignored: retention runs in one process, the leader")
    args = parser.parse_args()
    runs: list[dict[str, float]] = []
    with harness.database(durable=True) as url:
        for number in range(args.runs):
            runs.append(asyncio.run(_one_run(url, args.rows)))
            print(f"run {number + 1}: " + ", ".join(f"{k} {v:,.0f}" for k, v in runs[-1].items()), flush=True)
    medians = {key: harness.median([run[key] for run in runs]) for key in runs[0]}
    print("\nmedians over", args.runs, "runs:")
    for table in _TABLES:
        purged, written = medians[f"{table}_purged_per_s"], medians[f"{table}_written_per_s"]
        print(
            f"  {table}: purged {purged:,.0f} rows/s; written by INSERT ... SELECT {written:,.0f} rows/s "
            f"(purge / write {purged / written:.2f}); purge / 1,000 webhooks/s ingest {purged / 1000:.1f}x"
        )
    if args.json:
        params = {"runs": args.runs, "rows": args.rows}
        result = {"workload": "retention", "params": params, "medians": {"ours": medians}, "runs": {"ours": runs}}
        args.json.write_text(json.dumps({**result, "failures": {}}, indent=2))


if __name__ == "__main__":
    main()
