"""Per-entity serialization: a transaction-scoped advisory lock on a name.

Two deliveries about the same entity (a Jira retry racing the original, say)
then read-decide-write one after the other. The two-integer form keeps these
locks apart from the event log's single-bigint lock (every key: app/db/lock_keys.py).
"""

from __future__ import annotations

from collections.abc import Sequence

from app.db.driver import PgConnection, Statement, rows_json, run
from app.db.lock_keys import ENTITY_NAMESPACE

# Ordered by the lock key itself: two transactions taking overlapping sets
# take them in the same order and cannot deadlock (even when names collide).
_LOCK = (
    "SELECT pg_advisory_xact_lock(%s, key) FROM ("
    "SELECT DISTINCT hashtext(name) AS key FROM json_array_elements_text(%s::json) AS names(name) ORDER BY key"
    ") AS keys"
)


def lock_statement(names: Sequence[str]) -> Statement:
    """The statement locking every entity named, in one order. A statement of its own:
    whatever reads them must run after it, so that it sees what the last holder committed."""
    return Statement(_LOCK, (ENTITY_NAMESPACE, rows_json(sorted(set(names)))))


async def lock_entity(conn: PgConnection, name: str) -> None:
    await run(conn, [lock_statement([name])])
