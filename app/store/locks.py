"""Per-entity serialization: a transaction-scoped advisory lock on a name.

Two deliveries about the same entity (a Jira retry racing the original, say)
then read-decide-write one after the other. The two-integer form keeps these
locks apart from the event log's single-bigint lock.
"""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection

_ENTITY_NAMESPACE = 1


async def lock_entity(conn: AsyncConnection, name: str) -> None:
    await conn.execute(
        text("SELECT pg_advisory_xact_lock(:namespace, hashtext(:name))"),
        {"namespace": _ENTITY_NAMESPACE, "name": name},
    )


# Ordered by the lock key itself: two transactions taking overlapping sets
# take them in the same order and cannot deadlock (even when names collide).
_LOCK_MANY = text(
    "SELECT pg_advisory_xact_lock(:namespace, key) "
    "FROM (SELECT DISTINCT hashtext(name) AS key FROM unnest(CAST(:names AS text[])) AS name ORDER BY key) AS keys"
)


async def lock_entities(conn: AsyncConnection, names: Sequence[str]) -> None:
    """Lock several entities at once, in one round trip."""
    if len(names) == 1:
        await lock_entity(conn, names[0])
        return
    await conn.execute(_LOCK_MANY, {"namespace": _ENTITY_NAMESPACE, "names": list(names)})
