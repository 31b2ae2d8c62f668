"""The raw delivery log is kept for DELIVERY_RETENTION_DAYS, deleted oldest first in batches."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

from app.clock import utcnow
from app.factory import _JOB_REGISTRARS
from app.ingest.transaction import write
from app.jobs import Job, run_once
from app.ops.retention import JOB_NAME, delivery_retention, register_delivery_jobs
from app.store.deliveries import purge_before
from tests.conftest import make_settings
from tests.support.deliveries import rows
from tests.support.jira import issue_event
from tests.support.ops import engine_for, store_delivery


async def test_deliveries_older_than_the_cutoff_go_in_batches_oldest_first(database_url: str) -> None:
    now = utcnow()
    old = [
        store_delivery(database_url, "jira", issue_event(n), received_at=now - timedelta(days=40 + n)) for n in range(5)
    ]
    kept = store_delivery(database_url, "jira", issue_event(9), received_at=now - timedelta(days=1))

    async with engine_for(database_url) as engine:
        deleted, remaining = [], []
        for _ in range(4):
            async with write(engine) as conn:
                deleted.append(await purge_before(conn, now - timedelta(days=30), batch=2))
            remaining.append([row[0] for row in rows(database_url, "SELECT id FROM webhook_deliveries ORDER BY id")])

    assert deleted == [2, 2, 1, 0]
    # Oldest first: the two received longest ago go in the first batch (`old` is newest first).
    assert remaining[0] == sorted([*old[:3], kept])
    assert remaining[-1] == [kept]


async def test_the_retention_job_keeps_the_days_the_setting_names(database_url: str, tmp_path: Path) -> None:
    now = utcnow()
    store_delivery(database_url, "jira", issue_event(1), received_at=now - timedelta(days=8))
    recent = store_delivery(database_url, "jira", issue_event(2), received_at=now - timedelta(days=6))
    settings = make_settings(database_url, tmp_path, delivery_retention_days=7)

    async with engine_for(database_url) as engine:
        assert await run_once(engine, Job(JOB_NAME, 60.0, delivery_retention(settings)))

    assert rows(database_url, "SELECT id FROM webhook_deliveries") == [(recent,)]


def test_the_service_runs_the_retention_job() -> None:
    assert register_delivery_jobs in _JOB_REGISTRARS
