"""What a running process holds: settings, the database, the hub and its listener."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncEngine

from app.auth.tokens import TokenVerifier
from app.config import Settings
from app.events import log, retention
from app.events.hub import Hub
from app.events.listener import Listener
from app.events.model import Event


@dataclass(frozen=True, slots=True)
class Runtime:
    settings: Settings
    engine: AsyncEngine
    hub: Hub
    listener: Listener
    verifier: TokenVerifier

    async def read_log(self, after: int, *, limit: int, upto: int | None = None) -> list[Event]:
        async with self.engine.connect() as conn:
            raw = await conn.get_raw_connection()
            return await log.read_after(raw.driver_connection, after, limit=limit, upto=upto)  # type: ignore[arg-type]

    async def purged_through(self) -> int:
        async with self.engine.connect() as conn:
            return await retention.purged_through(conn)

    async def newest_position(self) -> int:
        async with self.engine.connect() as conn:
            raw = await conn.get_raw_connection()
            return await log.newest_position(raw.driver_connection)  # type: ignore[arg-type]
