"""The write path's statements, on psycopg directly: built as values, sent several to a message.

The webhook write path runs a handful of statements per batch, each over many
rows. Through SQLAlchemy Core each cost compilation-cache lookups, parameter
processing and result set-up; through psycopg's extended protocol each still
costs a message and a wake-up of its own (about 100 µs of CPU apiece here).
So the hot statements are built as `Statement` values and sent together
(`run`): joined into one message of PostgreSQL's simple-query protocol, with
their parameters bound on the client (psycopg quotes them, in C), the results
of each statement read back in order. A batch of webhooks then costs two
messages: BEGIN with its reads, and its writes with COMMIT (app/ingest/batch_writer.py).

Every table's rows travel as one JSON parameter (`rows_json`), serialized by
orjson in one call and read by `json_populate_recordset` or `json_to_recordset`:
one statement per table, whatever the batch size. Arrays and bytes are never
bound as such: psycopg quotes array literals element by element in Python.

Every write of the service is built this way, not only the hot ones: one
write style, whatever the table. A write transaction opens on a pooled
SQLAlchemy connection in app/ingest/transaction.py, the one caller of
`driver_of`, and its statements run on the psycopg connection under it, in
its transaction. Reads for the API stay on SQLAlchemy. Errors from statements
are psycopg's, not SQLAlchemy's wrappers: app/db/failures.py understands both.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any, TypeAlias, cast

import orjson
import psycopg
from psycopg.types.json import set_json_loads
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from app.db.engine import POOLER_SAFE
from app.db.urls import libpq_url

# A psycopg connection: what statements run on, beside SQLAlchemy's own connection objects.
PgConnection: TypeAlias = psycopg.AsyncConnection[Any]
Rows: TypeAlias = list[tuple[Any, ...]]


@dataclass(frozen=True, slots=True)
class Statement:
    """One SQL statement (no `;`) and its parameters (`%s` placeholders)."""

    sql: str
    params: tuple[Any, ...] = ()


BEGIN = Statement("BEGIN")
COMMIT = Statement("COMMIT")


async def run(conn: PgConnection, statements: Sequence[Statement]) -> list[Rows]:
    """Run `statements` in order, in one message; the rows each returned (empty for a write).

    PostgreSQL stops at the first error; inside a transaction the caller rolls back."""
    if not statements:
        return []
    sql = ";\n".join(statement.sql for statement in statements)
    params = tuple(param for statement in statements for param in statement.params)
    results: list[Rows] = []
    async with psycopg.AsyncClientCursor(conn) as cursor:
        await cursor.execute(sql, params or None)
        while True:
            results.append(await cursor.fetchall() if cursor.description is not None else [])
            if not cursor.nextset():
                break
    return results


@asynccontextmanager
async def savepoint(conn: PgConnection) -> AsyncIterator[None]:
    """A block whose writes are undone if it raises, the rest of the transaction kept."""
    await run(conn, [Statement("SAVEPOINT undo")])
    try:
        yield
    except Exception:
        await run(conn, [Statement("ROLLBACK TO SAVEPOINT undo"), Statement("RELEASE SAVEPOINT undo")])
        raise
    await run(conn, [Statement("RELEASE SAVEPOINT undo")])


def rows_json(rows: Sequence[Any]) -> str:
    """Rows (or values) as one JSON array: one parameter for a whole batch."""
    return orjson.dumps(rows).decode()


async def connect(database_url: str, *, application_name: str = "ops-bridge", autocommit: bool = False) -> PgConnection:
    """A connection of its own (the batch writer's, the listener's), set up as the engine's are."""
    conn = await psycopg.AsyncConnection.connect(
        libpq_url(database_url),
        autocommit=autocommit,
        connect_timeout=5,
        application_name=application_name,
        # Find a silently dead peer (no RST) within a minute, not hours.
        keepalives=1,
        keepalives_idle=10,
        keepalives_interval=5,
        keepalives_count=3,
        **POOLER_SAFE,
    )
    set_json_loads(orjson.loads, conn)
    return conn


async def driver_of(conn: AsyncConnection) -> PgConnection:
    """The psycopg connection `conn` runs on: statements on it share `conn`'s transaction.
    Called by the write seam alone (app/ingest/transaction.py)."""
    raw = await conn.get_raw_connection()
    return cast(PgConnection, raw.driver_connection)


@asynccontextmanager
async def reading(engine: AsyncEngine) -> AsyncIterator[PgConnection]:
    """A pooled connection's psycopg connection, for reads written as statements (the event
    log's, app/fanout/log.py); writes open at the write seam instead."""
    async with engine.connect() as conn:
        yield await driver_of(conn)
