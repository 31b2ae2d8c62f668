"""Running stored deliveries through today's mapping again.

After a mapping change (a fix in an adapter, a new JIRA_PRIORITY_MAP...),
`ops-bridge reprocess --since 2d` takes the deliveries received since then,
oldest first, and runs each through its sender's current translate and apply,
in one transaction per delivery, exactly as if it had just arrived at the time
it did arrive (its `received_at` is the "now" both see, so a run is
deterministic and a second run changes nothing).

Idempotent by construction: apply compares with what is stored. A delivery
that maps to what is already stored writes nothing and sends nothing; one
that now maps differently updates the entity and sends its events (committed
with the change, like any write); an update older than what is stored is
ignored as it would be live. The dashboard so converges on the state the
corrected mapping gives.

Each delivery's outcome and error are updated: `applied` (its change is in the
store: now, or from an earlier run), `unchanged` (maps, but newer data wins),
`ignored`, `rejected` (with the error). A subscription confirmation (SNS) is
never confirmed again: it is an outbound call, not state.

Each delivery's transaction opens through the write seam
(app/ingest/transaction.py), a dry run's as a rehearsal rolled back at the end;
the selection is read page by page through SQLAlchemy, as the commands read.
"""

from __future__ import annotations

import functools
from collections import Counter
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncEngine

from app.adapters.json_body import parse_json
from app.clock import utcnow
from app.config import Settings
from app.db.driver import PgConnection, savepoint
from app.db.schema import webhook_deliveries
from app.domain.deliveries import Ignored
from app.errors import InputError
from app.ingest.transaction import rehearsal, write
from app.senders.registry import SENDERS
from app.store import deliveries
from app.store.deliveries import Delivery, Outcome, Selection

_PAGE = 500


@dataclass(frozen=True, slots=True)
class Result:
    delivery_id: int
    sender: str
    received_at: datetime
    before: str
    after: str
    events: int
    error: str | None = None
    # Why the delivery was left as it was (an unknown sender, a subscription confirmation).
    skipped: str | None = None

    @property
    def changed(self) -> bool:
        return self.events > 0 or self.before != self.after


@dataclass(slots=True)
class Summary:
    deliveries: int = 0
    events: int = 0
    changed: int = 0
    outcomes: Counter[str] = field(default_factory=Counter)
    skipped: int = 0

    def add(self, result: Result) -> None:
        self.deliveries += 1
        self.events += result.events
        self.changed += result.changed
        self.skipped += result.skipped is not None
        self.outcomes[result.after] += 1


async def reprocess(
    engine: AsyncEngine,
    settings: Settings,
    selection: Selection,
    *,
    dry_run: bool = False,
    report: Callable[[Result], None] = lambda _result: None,
) -> Summary:
    """Reprocess the selected deliveries, oldest first, one transaction each.

    A dry run does the same in one transaction, rolled back at the end: each
    delivery sees what the ones before it would have written, so it reports
    what the run would do, not what each delivery would do alone."""
    summary = Summary()
    async with engine.connect() as conn:
        # Deliveries arriving meanwhile are applied live; the run stops where it began.
        last = (await conn.execute(select(func.coalesce(func.max(webhook_deliveries.c.id), 0)))).scalar_one()
    if dry_run:
        async with rehearsal(engine) as pg:  # nothing committed: nothing is sent either
            dry_one = functools.partial(_one, pg, settings, record=False)
            await _each(engine, selection, last, dry_one, summary, report)
        return summary

    async def one(delivery_id: int) -> Result | None:
        async with write(engine) as pg:
            return await _one(pg, settings, delivery_id, record=True)

    await _each(engine, selection, last, one, summary, report)
    return summary


async def _each(
    engine: AsyncEngine,
    selection: Selection,
    last: int,
    one: Callable[[int], Awaitable[Result | None]],
    summary: Summary,
    report: Callable[[Result], None],
) -> None:
    """Every selected delivery up to `last`, oldest first, a page of ids at a time."""
    after = 0
    while True:
        async with engine.connect() as conn:
            ids = await deliveries.ids_after(conn, selection, after, upto=last, limit=_PAGE)
        for delivery_id in ids:
            result = await one(delivery_id)
            if result is not None:
                summary.add(result)
                report(result)
        if len(ids) < _PAGE:
            return
        after = ids[-1]


async def _one(conn: PgConnection, settings: Settings, delivery_id: int, *, record: bool) -> Result | None:
    """One delivery in the caller's transaction; None if it was purged meanwhile."""
    delivery = await deliveries.lock_delivery(conn, delivery_id)
    if delivery is None:
        return None
    result = await _run(conn, settings, delivery)
    if record and result.skipped is None:
        await deliveries.record_reprocessed(conn, delivery.id, _outcome(result.after), result.error, utcnow())
    return result


async def _run(conn: PgConnection, settings: Settings, delivery: Delivery) -> Result:
    entry = SENDERS.get(delivery.sender)
    if entry is None:
        return _result(delivery, delivery.outcome, skipped=f"no sender called {delivery.sender!r} any more")
    if delivery.outcome == "refused":
        return _result(delivery, delivery.outcome, skipped="refused unread (over its body limit): no body to run again")
    sender = entry.sender_for(delivery)
    when = delivery.received_at
    try:
        change = sender.translate(parse_json(delivery.body), when, settings)
        if isinstance(change, Ignored):
            return _result(delivery, "ignored")
        if not entry.replays(change):
            return _result(delivery, delivery.outcome, skipped="a subscription confirmation is not repeated")
        async with savepoint(conn):  # a refusal while applying undoes the partial write, not the outcome
            produced = await sender.apply(conn, change, when)
    except InputError as exc:
        return _result(delivery, "rejected", error=exc.message)
    settled = "applied" if produced or delivery.outcome == "applied" else "unchanged"
    return _result(delivery, settled, events=produced)


def _result(
    delivery: Delivery, after: str, *, events: int = 0, error: str | None = None, skipped: str | None = None
) -> Result:
    return Result(
        delivery_id=delivery.id,
        sender=delivery.sender,
        received_at=delivery.received_at,
        before=delivery.outcome,
        after=after,
        events=events,
        error=error if error is not None else (delivery.error if skipped else None),
        skipped=skipped,
    )


def _outcome(value: str) -> Outcome:
    if value not in deliveries.OUTCOMES:
        raise ValueError(f"not an outcome: {value}")
    return value  # type: ignore[return-value]
