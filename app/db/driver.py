"""The psycopg connection under a SQLAlchemy one, for the write path's hot statements.

The webhook write path runs a handful of statements per batch, each over many
rows; through SQLAlchemy Core each costs compilation-cache lookups, parameter
processing and result set-up that, on two cores, were a third of the
service's CPU per webhook. Those statements run on the driver connection
instead, with psycopg's own (C) adaptation, prepared statements and
pipelining: they are part of the same transaction as anything else the
caller runs on the SQLAlchemy connection, which still manages it.

Errors from statements run here are psycopg's, not SQLAlchemy's wrappers:
app/errors.py and app/db/transactions.py understand both.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, TypeAlias, cast

import orjson
import psycopg
from psycopg.types.json import set_json_loads
from sqlalchemy.ext.asyncio import AsyncConnection

from app.db.urls import libpq_url

Driver: TypeAlias = psycopg.AsyncConnection[Any]


async def connect(database_url: str) -> Driver:
    """A connection of its own, set up as the engine's are (app/db/engine.py)."""
    conn = await psycopg.AsyncConnection.connect(
        libpq_url(database_url),
        connect_timeout=5,
        application_name="ops-bridge",
        # Find a silently dead peer (no RST) within a minute, not hours.
        keepalives=1,
        keepalives_idle=10,
        keepalives_interval=5,
        keepalives_count=3,
    )
    set_json_loads(orjson.loads, conn)
    return conn


async def driver_of(conn: AsyncConnection) -> Driver:
    """The psycopg connection `conn` runs on: statements on it share `conn`'s transaction."""
    raw = await conn.get_raw_connection()
    return cast(Driver, raw.driver_connection)


def rows_json(rows: Sequence[Mapping[str, Any]]) -> str:
    """Rows as one JSON array, for `json_populate_recordset(NULL::table, %s)`.

    A batch then travels as one parameter of one statement, serialized by
    orjson in one call, rather than as a statement per row; PostgreSQL reads
    each field as its column's type (JSON arrays into arrays, nested JSON into
    json/jsonb columns verbatim)."""
    return orjson.dumps(rows).decode()
