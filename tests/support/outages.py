"""The database failing under a running service, as it does in production: gone
(new connections refused, open ones cut), or read-only (a hot standby, or a
primary fenced during a failover: connections cut, new ones accept no writes)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from psycopg import sql
from sqlalchemy.engine import make_url

from tests.support.database import PgServer


def _cut_connections(postgres: PgServer, name: str) -> None:
    with postgres.admin() as admin:
        admin.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = %s AND pid <> pg_backend_pid()",
            (name,),
        )


@contextmanager
def unreachable(postgres: PgServer, database_url: str) -> Iterator[None]:
    """New connections refused and the open ones cut, as when the database goes away."""
    name = str(make_url(database_url).database)
    with postgres.admin() as admin:
        admin.execute(sql.SQL("ALTER DATABASE {} ALLOW_CONNECTIONS false").format(sql.Identifier(name)))
    _cut_connections(postgres, name)
    try:
        yield
    finally:
        with postgres.admin() as admin:
            admin.execute(sql.SQL("ALTER DATABASE {} ALLOW_CONNECTIONS true").format(sql.Identifier(name)))


@contextmanager
def read_only(postgres: PgServer, database_url: str) -> Iterator[None]:
    """Every new transaction read-only (default_transaction_read_only) and the open connections
    cut, so the service's next ones are: what it sees of a failover to a server not yet writable."""
    name = str(make_url(database_url).database)
    with postgres.admin() as admin:
        admin.execute(sql.SQL("ALTER DATABASE {} SET default_transaction_read_only = on").format(sql.Identifier(name)))
    _cut_connections(postgres, name)
    try:
        yield
    finally:
        with postgres.admin() as admin:
            admin.execute(sql.SQL("ALTER DATABASE {} RESET default_transaction_read_only").format(sql.Identifier(name)))
        _cut_connections(postgres, name)
