"""Where a database's schema stands against this release's migrations, and
whether the event log's trigger (which gives every event its position and
rings the listener's doorbell) is in place: for `ops-bridge check` and /readyz."""

from __future__ import annotations

import functools
from dataclasses import dataclass
from typing import Literal

from alembic.script import ScriptDirectory
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection

from app.db.migrate import alembic_config

EVENT_TRIGGER = "events_assign_position"

# Every migration after this one only adds to the schema (expand), so the previous
# release keeps serving while the next one migrates: a rolling deploy
# (docs/deployment.md#rolling-restarts). tests/db/test_migrate.py holds each of
# them to it. A migration that must contract (drop, rename, tighten) comes in a
# release after the one that stopped depending on what it removes, and moves
# this line to itself, with a note in that release's upgrade notes.
ROLLING_BASELINE = "0003s"

SchemaStatus = Literal["current", "behind", "ahead", "empty"]


@dataclass(frozen=True, slots=True)
class SchemaState:
    status: SchemaStatus
    database: str | None
    code: tuple[str, ...]
    pending: int = 0

    @property
    def usable(self) -> bool:
        """This release can run on it: at its head, or ahead (a newer release migrated it first)."""
        return self.status in ("current", "ahead")

    def explain(self) -> str:
        head = ", ".join(self.code)
        if self.status == "current":
            return f"at {head}, this release's newest migration"
        if self.status == "empty":
            return f"no migrations applied: run 'ops-bridge migrate' (this release needs {head})"
        if self.status == "behind":
            return f"at {self.database}, {self.pending} migration(s) behind {head}: run 'ops-bridge migrate'"
        return (
            f"at {self.database}, which this release does not know: a newer release migrated it (fine while both run)"
        )


@functools.cache
def _script() -> ScriptDirectory:
    return ScriptDirectory.from_config(alembic_config("postgresql://unused"))


def code_heads() -> tuple[str, ...]:
    return tuple(sorted(_script().get_heads()))


def revisions_after(revision: str) -> list[str]:
    """This release's migrations after `revision`, oldest first."""
    found = [script.revision for script in _script().iterate_revisions("heads", revision)]
    return [name for name in reversed(found) if name != revision]


async def schema_state(conn: AsyncConnection) -> SchemaState:
    script, heads = _script(), code_heads()
    exists = (await conn.execute(text("SELECT to_regclass('alembic_version') IS NOT NULL"))).scalar_one()
    current = (await conn.execute(text("SELECT version_num FROM alembic_version"))).scalar() if exists else None
    if current is None:
        return SchemaState("empty", None, heads)
    if current in heads:
        return SchemaState("current", current, heads)
    if script.get_revision(current) is None:
        return SchemaState("ahead", current, heads)
    pending = sum(1 for _ in script.iterate_revisions(heads, current))
    return SchemaState("behind", current, heads, pending=pending)


async def event_trigger(conn: AsyncConnection) -> str | None:
    """None if the trigger is in place and enabled; else what is wrong, in plain words."""
    found = (
        await conn.execute(
            text(
                "SELECT t.tgenabled FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid "
                "WHERE c.relname = 'events' AND t.tgname = :name"
            ),
            {"name": EVENT_TRIGGER},
        )
    ).scalar()
    if found is None:
        return (
            f"the trigger {EVENT_TRIGGER} on table events is missing: events would get no position and never "
            "reach a subscriber (re-create it by migrating a fresh database, or restore the schema)"
        )
    if found == "D":
        return f"the trigger {EVENT_TRIGGER} is disabled: enable it (ALTER TABLE events ENABLE TRIGGER {EVENT_TRIGGER})"
    return None
