"""Rows of the raw delivery log written as an older release would have left them,
and the engine the operator commands run on."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import datetime, timedelta
from typing import Any

import psycopg
from sqlalchemy.ext.asyncio import AsyncEngine

from app.clock import utcnow
from app.db.engine import create_engine


def store_delivery(
    database_url: str,
    sender: str,
    body: Any,
    *,
    outcome: str = "rejected",
    error: str | None = "rejected by an older mapping",
    query: dict[str, str] | None = None,
    received_at: datetime | None = None,
    delivery_key: str | None = None,
) -> int:
    raw = body if isinstance(body, bytes) else json.dumps(body).encode()
    with psycopg.connect(database_url) as conn:
        row = conn.execute(
            "INSERT INTO webhook_deliveries (sender, delivery_key, received_at, headers, body, outcome, error, query) "
            "VALUES (%s, %s, %s, '{}', %s, %s, %s, %s) RETURNING id",
            (
                sender,
                delivery_key,
                received_at or utcnow() - timedelta(minutes=5),
                raw,
                outcome,
                error,
                json.dumps(query or {}),
            ),
        ).fetchone()
    assert row is not None
    return int(row[0])


def delivery_row(database_url: str, delivery_id: int) -> tuple[str, str | None, datetime | None]:
    """(outcome, error, reprocessed_at) of a delivery."""
    with psycopg.connect(database_url) as conn:
        row = conn.execute(
            "SELECT outcome, error, reprocessed_at FROM webhook_deliveries WHERE id = %s", (delivery_id,)
        ).fetchone()
    assert row is not None
    return row[0], row[1], row[2]


@asynccontextmanager
async def engine_for(database_url: str) -> AsyncIterator[AsyncEngine]:
    engine = create_engine(database_url, pool_size=2)
    try:
        yield engine
    finally:
        await engine.dispose()
