"""The process's SQLAlchemy engine: one pool shared by every request, jobs and reads.

Every connection the service opens through DATABASE_URL may be a transaction
pooler's (PgBouncer in `pool_mode=transaction`, as most managed PostgreSQL is
offered): each transaction may run on a different server connection. So these
connections keep no session state between transactions: no SET, no LISTEN, no
session-level advisory lock, no temporary table, and no server-side prepared
statement (psycopg prepares a query it has run five times, under a name the
next server connection does not know; PgBouncer before 1.21 cannot follow).
"""

from __future__ import annotations

from typing import Any

import orjson
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine
from sqlalchemy.pool import NullPool

from app.db.urls import sqlalchemy_url

# Arguments for every psycopg connection that may go through a pooler (the
# engine's, the batch writers', the migrations'). Without prepared statements
# PostgreSQL parses and plans each query again: the hot write path sends its
# statements as simple queries anyway (app/db/driver.py), so it loses nothing.
POOLER_SAFE: dict[str, Any] = {"prepare_threshold": None}


def create_engine(
    database_url: str,
    *,
    pool_size: int = 10,
    max_overflow: int = 10,
    keep_idle: bool = True,
    application_name: str = "ops-bridge",
) -> AsyncEngine:
    """The pool: `pool_size` connections kept, `max_overflow` more opened under load and closed after.

    `keep_idle=False`: no connection is kept between uses (a socket edge, which reads the database
    only for old resumes: hundreds of edges must not hold hundreds of idle connections)."""
    sizes: dict[str, Any] = (
        {"pool_size": pool_size, "max_overflow": max_overflow, "pool_timeout": 5}
        if keep_idle
        else {"poolclass": NullPool}
    )
    return create_async_engine(
        sqlalchemy_url(database_url),
        **sizes,
        # No pre-ping: it costs a round trip per request. A connection killed
        # under us fails its request with 503 (the sender retries) and is
        # discarded by the pool; recycling bounds how long any one lives.
        pool_recycle=1800,
        connect_args={"connect_timeout": 5, "application_name": application_name, **POOLER_SAFE},
        # Event messages are stored as the exact JSON text subscribers receive.
        json_serializer=_dumps,
        json_deserializer=orjson.loads,
    )


def _dumps(value: object) -> str:
    return orjson.dumps(value).decode()
