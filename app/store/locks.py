"""Per-entity serialization: a transaction-scoped advisory lock on a name.

Two deliveries about the same entity (a Jira retry racing the original, say)
then read-decide-write one after the other. The two-integer form keeps these
locks apart from the event log's single-bigint lock.
"""

from __future__ import annotations

from collections.abc import Sequence

from app.db.driver import Driver

_ENTITY_NAMESPACE = 1

_LOCK_ONE = "SELECT pg_advisory_xact_lock(%s, hashtext(%s))"
# Ordered by the lock key itself: two transactions taking overlapping sets
# take them in the same order and cannot deadlock (even when names collide).
_LOCK_MANY = (
    "SELECT pg_advisory_xact_lock(%s, key) "
    "FROM (SELECT DISTINCT hashtext(name) AS key FROM unnest(%b::text[]) AS name ORDER BY key) AS keys"
)


async def lock_entity(conn: Driver, name: str) -> None:
    await conn.execute(_LOCK_ONE, (_ENTITY_NAMESPACE, name))


async def lock_entities(conn: Driver, names: Sequence[str]) -> None:
    """Lock several entities at once, in one round trip."""
    if len(names) == 1:
        await lock_entity(conn, names[0])
        return
    await conn.execute(_LOCK_MANY, (_ENTITY_NAMESPACE, list(names)))
