"""Alembic environment: migrations run over psycopg 3, one migrator at a time.

Every migration of a run, and the lock that keeps a second migrator out, live in
one transaction: a transaction pooler (PgBouncer in `pool_mode=transaction`)
keeps a transaction on one server connection, and nothing outlives it. A lock
taken at session level would stay with whichever server connection took it,
and the next `migrate` would wait for it forever.
"""

from __future__ import annotations

import os

from alembic import context
from sqlalchemy import create_engine, pool, text

from app.db.engine import POOLER_SAFE
from app.db.lock_keys import MIGRATION_LOCK
from app.db.schema import metadata
from app.db.urls import sqlalchemy_url


def _database_url() -> str:
    url = context.config.attributes.get("database_url")
    url = url or context.get_x_argument(as_dictionary=True).get("database_url")
    url = url or os.environ.get("DATABASE_URL")
    if not url:
        raise RuntimeError("no database URL: set DATABASE_URL or pass -x database_url=...")
    return sqlalchemy_url(str(url))


def run_migrations_online() -> None:
    engine = create_engine(_database_url(), poolclass=pool.NullPool, connect_args=POOLER_SAFE)
    with engine.connect() as connection:
        context.configure(connection=connection, target_metadata=metadata)
        with context.begin_transaction():
            # Several processes may start at once (one per core): the second waits
            # for the first instead of racing it through the same DDL. Taken before
            # Alembic reads the schema's version, so the second reads what the first
            # committed; released by the commit (or rollback) that ends the migrations.
            connection.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": MIGRATION_LOCK})
            context.run_migrations()
    engine.dispose()


if context.is_offline_mode():
    raise RuntimeError("offline (SQL script) migrations are not supported")
run_migrations_online()
