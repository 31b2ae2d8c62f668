"""Per-entity serialization: a transaction-scoped advisory lock on a name.

Two deliveries about the same entity (a Jira retry racing the original, say)
then read-decide-write one after the other. The two-integer form keeps these
locks apart from the event log's single-bigint lock.
"""

from __future__ import annotations

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection

_ENTITY_NAMESPACE = 1


async def lock_entity(conn: AsyncConnection, name: str) -> None:
    await conn.execute(
        text("SELECT pg_advisory_xact_lock(:namespace, hashtext(:name))"),
        {"namespace": _ENTITY_NAMESPACE, "name": name},
    )
