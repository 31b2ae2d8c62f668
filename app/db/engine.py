"""The process's SQLAlchemy engine: one pool shared by every request."""

from __future__ import annotations

import orjson
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

from app.db.urls import sqlalchemy_url


def create_engine(database_url: str, *, pool_size: int = 10) -> AsyncEngine:
    return create_async_engine(
        sqlalchemy_url(database_url),
        pool_size=pool_size,
        max_overflow=pool_size,
        # No pre-ping: it costs a round trip per request. A connection killed
        # under us fails its request with 503 (the sender retries) and is
        # discarded by the pool; recycling bounds how long any one lives.
        pool_recycle=1800,
        pool_timeout=5,
        connect_args={"connect_timeout": 5, "application_name": "ops-bridge"},
        # Event messages are stored as the exact JSON text subscribers receive.
        json_serializer=_dumps,
        json_deserializer=orjson.loads,
    )


def _dumps(value: object) -> str:
    return orjson.dumps(value).decode()
