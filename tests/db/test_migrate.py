"""Migrations: one migrator at a time, through a transaction pooler too, and
nothing of theirs left behind."""

from __future__ import annotations

import psycopg
from sqlalchemy.engine import make_url

from app.db.lock_keys import MIGRATION_LOCK
from app.db.migrate import upgrade
from app.db.revision import ROLLING_BASELINE, revisions_after
from tests.support.database import PgServer
from tests.support.pgbouncer import busy, pgbouncer
from tests.support.schema import contractions, snapshot

# A single-bigint advisory lock shows in pg_locks as (classid, objid) = (high, low) 32 bits, objsubid 1;
# MIGRATION_LOCK fits in the low 32 bits.


def _migration_locks(direct_url: str) -> int:
    """Sessions holding or waiting for the migration lock in `direct_url`'s database."""
    with psycopg.connect(direct_url, autocommit=True) as conn:
        row = conn.execute(
            "SELECT count(*) FROM pg_locks l JOIN pg_database d ON d.oid = l.database "
            "WHERE l.locktype = 'advisory' AND l.objsubid = 1 AND l.classid = 0 AND l.objid = %s "
            "AND d.datname = %s",
            (MIGRATION_LOCK, make_url(direct_url).database),
        ).fetchone()
    assert row is not None
    return int(row[0])


def test_no_migration_lock_is_left_behind_through_a_busy_transaction_pooler(
    postgres: PgServer, empty_database: str
) -> None:
    # Round robin: the next transaction goes to another server connection, as it
    # does on any pooler whose connections are all in use by somebody.
    with (
        pgbouncer(postgres.base_url, pool_size=4, round_robin=True) as pooler,
        busy(pooler.url(empty_database), clients=6),
    ):
        for run in range(1, 11):
            upgrade(pooler.url(empty_database))

            # Checked after each run: a lock left behind makes the next run wait forever.
            assert _migration_locks(empty_database) == 0, f"run {run} left the migration lock held"


def test_every_migration_after_the_rolling_baseline_only_adds_so_the_previous_release_keeps_serving(
    empty_database: str,
) -> None:
    upgrade(empty_database, ROLLING_BASELINE)
    later = revisions_after(ROLLING_BASELINE)
    problems = {}
    for revision in later:
        before = snapshot(empty_database)
        upgrade(empty_database, revision)
        problems[revision] = contractions(before, snapshot(empty_database))

    assert later, "the baseline is not behind the newest migration: nothing is checked"
    assert problems == {revision: [] for revision in later}


def test_the_rolling_check_names_each_change_an_older_release_cannot_live_with(database_url: str) -> None:
    before = snapshot(database_url)
    with psycopg.connect(database_url, autocommit=True) as conn:
        for expand in (
            "CREATE TABLE audit_trail (id bigint PRIMARY KEY, note text NOT NULL)",
            "ALTER TABLE incidents ADD COLUMN runbook text",
            "ALTER TABLE incidents ADD COLUMN reopened integer NOT NULL DEFAULT 0",
            "CREATE INDEX ix_incidents_runbook ON incidents (runbook)",
        ):
            conn.execute(expand)
        expanded = snapshot(database_url)
        for contract in (
            "ALTER TABLE tasks DROP COLUMN assignee",
            "ALTER TABLE tasks RENAME COLUMN title TO name",
            "ALTER TABLE tasks ADD COLUMN owner text NOT NULL",
            "ALTER TABLE tasks ALTER COLUMN priority SET NOT NULL",
            "ALTER TABLE tasks ALTER COLUMN description TYPE varchar(200)",
            "ALTER TABLE tasks ADD CONSTRAINT ck_tasks_title CHECK (name <> '')",
            "CREATE UNIQUE INDEX uq_tasks_jira_key ON tasks (jira_key)",
            "DROP TABLE notification_reads",
        ):
            conn.execute(contract)
    contracted = contractions(expanded, snapshot(database_url))

    assert contractions(before, expanded) == []
    assert contracted == [
        "table notification_reads is gone",
        "column tasks.assignee is gone",
        "column tasks.description changed type from text to character varying(200)",
        "column tasks.priority became NOT NULL",
        "column tasks.title is gone",
        "new column tasks.name is NOT NULL without a default",  # the rename, as the older release sees it
        "new column tasks.owner is NOT NULL without a default",
        "new constraint ck_tasks_title on existing table tasks",
        "new unique index uq_tasks_jira_key on existing table tasks",
    ]
