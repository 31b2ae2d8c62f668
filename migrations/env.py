"""Alembic environment: migrations run over psycopg 3, one migrator at a time."""

from __future__ import annotations

import os

from alembic import context
from sqlalchemy import create_engine, pool, text

from app.db.schema import metadata
from app.db.urls import sqlalchemy_url

# Several processes may start at once (one per core); the lock makes the second
# wait for the first instead of racing it through the same DDL.
_MIGRATION_LOCK = 0x0B51_D6E0


def _database_url() -> str:
    url = context.config.attributes.get("database_url")
    url = url or context.get_x_argument(as_dictionary=True).get("database_url")
    url = url or os.environ.get("DATABASE_URL")
    if not url:
        raise RuntimeError("no database URL: set DATABASE_URL or pass -x database_url=...")
    return sqlalchemy_url(str(url))


def run_migrations_online() -> None:
    engine = create_engine(_database_url(), poolclass=pool.NullPool)
    with engine.connect() as connection:
        connection.execute(text("SELECT pg_advisory_lock(:key)"), {"key": _MIGRATION_LOCK})
        try:
            context.configure(connection=connection, target_metadata=metadata)
            with context.begin_transaction():
                context.run_migrations()
            connection.commit()
        finally:
            connection.execute(text("SELECT pg_advisory_unlock(:key)"), {"key": _MIGRATION_LOCK})
            connection.commit()
    engine.dispose()


if context.is_offline_mode():
    raise RuntimeError("offline (SQL script) migrations are not supported")
run_migrations_online()
