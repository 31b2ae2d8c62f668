"""What a sender's store offers to write many changes as a set (the batch writer
in app/ingest/batch_writer.py drives it): the reads that lock and load what the
changes touch, then, planned in Python against those rows, the writes."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol, TypeVar

from app.db.driver import PgConnection, Rows, Statement, run

Change = TypeVar("Change")
Change_contra = TypeVar("Change_contra", contravariant=True)


@dataclass(frozen=True, slots=True)
class Reads:
    """What a set writer reads before it plans: `lock` takes the locks of every entity the
    changes name (in one order, so that writers never deadlock), then `load` reads them."""

    lock: Statement
    load: Statement


@dataclass(frozen=True, slots=True)
class Plan:
    """What a set writer decided: the events each change produced, and the statements writing them."""

    produced: list[int]
    writes: list[Statement]


class SetWriter(Protocol[Change_contra]):
    """Applies changes as a set, in two steps around the writer's reads."""

    def reads(self, changes: Sequence[Change_contra]) -> Reads:
        """What must be locked and read before these changes (or a subset) can be planned."""
        ...

    def plan(self, changes: Sequence[Change_contra], loaded: Rows, now: datetime) -> Plan:
        """Decide the changes against `loaded`, the rows of `Reads.load`."""
        ...


async def apply_set(
    conn: PgConnection, writer: SetWriter[Change], changes: Sequence[Change], now: datetime
) -> list[int]:
    """Apply `changes` in order with `writer`, in the caller's transaction: how many events each produced."""
    reads = writer.reads(changes)
    _locked, loaded = await run(conn, [reads.lock, reads.load])
    plan = writer.plan(changes, loaded, now)
    await run(conn, plan.writes)
    return plan.produced
