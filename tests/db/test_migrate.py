"""Migrations: one migrator at a time, through a transaction pooler too, and
nothing of theirs left behind."""

from __future__ import annotations

import psycopg
from sqlalchemy.engine import make_url

from app.db.migrate import upgrade
from tests.support.database import PgServer
from tests.support.pgbouncer import busy, pgbouncer

# migrations/env.py's MIGRATION_LOCK: a single-bigint advisory lock shows in
# pg_locks as (classid, objid) = (high, low) 32 bits, objsubid 1.
_MIGRATION_LOCK = 0x0B51_D6E0


def _migration_locks(direct_url: str) -> int:
    """Sessions holding or waiting for the migration lock in `direct_url`'s database."""
    with psycopg.connect(direct_url, autocommit=True) as conn:
        row = conn.execute(
            "SELECT count(*) FROM pg_locks l JOIN pg_database d ON d.oid = l.database "
            "WHERE l.locktype = 'advisory' AND l.objsubid = 1 AND l.classid = 0 AND l.objid = %s "
            "AND d.datname = %s",
            (_MIGRATION_LOCK, make_url(direct_url).database),
        ).fetchone()
    assert row is not None
    return int(row[0])


def test_no_migration_lock_is_left_behind_through_a_busy_transaction_pooler(
    postgres: PgServer, empty_database: str
) -> None:
    # Round robin: the next transaction goes to another server connection, as it
    # does on any pooler whose connections are all in use by somebody.
    with pgbouncer(postgres, pool_size=4, round_robin=True) as pooler, busy(pooler.url(empty_database), clients=6):
        for run in range(1, 11):
            upgrade(pooler.url(empty_database))

            # Checked after each run: a lock left behind makes the next run wait forever.
            assert _migration_locks(empty_database) == 0, f"run {run} left the migration lock held"
