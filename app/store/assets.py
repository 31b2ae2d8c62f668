"""Assets: load them, write planned changes and append their `asset` events, in the
caller's transaction.

Writers of one asset lock its row (`SELECT ... FOR UPDATE`); a sync locks
every row it may touch, in id order (so two syncs cannot deadlock each other),
after a per-environment advisory lock that keeps two syncs of one environment
from interleaving their deletions. Row locks live in the rows, not in the
shared lock table, so a snapshot of 10,000 assets cannot exhaust it.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, Row, Text, and_, any_, bindparam, delete, insert, or_, select, update
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.ext.asyncio import AsyncConnection

from app.db.driver import driver_of
from app.db.schema import assets
from app.domain.assets import AssetFields, AssetSync, AssetView, AssetWrite, plan_delete, plan_upsert
from app.errors import Conflict
from app.store import outbox
from app.store.locks import lock_entity
from app.store.outbox import NewEvent

# Ids are global across environments, so that an id is taken cannot be kept from
# whoever tries to take it; the answers say no more than that: not whether the
# caller may see the asset, nor (for a snapshot) which of its ids, or how many.
ID_TAKEN = "the asset id {asset_id!r} is taken: choose another (PUT or PATCH changes an asset you may see)"
SNAPSHOT_ID_TAKEN = (
    "the snapshot holds ids taken by assets this token may not change: choose other ids "
    "(the ids, and how many, are not said: they may belong to environments it does not grant)"
)

_FIELDS = tuple(AssetView.model_fields)
_COLUMNS = [assets.c[name] for name in _FIELDS]


def _view(row: Row[Any]) -> AssetView:
    return AssetView.model_validate(row._asdict())


async def load_asset(conn: AsyncConnection, asset_id: str, *, for_update: bool = False) -> AssetView | None:
    statement = select(*_COLUMNS).where(assets.c.id == asset_id)
    if for_update:
        statement = statement.with_for_update()
    row = (await conn.execute(statement)).first()
    return None if row is None else _view(row)


async def create_asset(conn: AsyncConnection, asset_id: str, fields: AssetFields, *, now: datetime) -> AssetView:
    """Store a new asset and its `created` event; Conflict if the id is taken."""
    write = plan_upsert(asset_id, None, fields, now)
    assert write.after is not None
    inserted = await conn.execute(
        pg_insert(assets)
        .values(write.after.model_dump())
        .on_conflict_do_nothing(index_elements=["id"])
        .returning(assets.c.id)
    )
    if inserted.first() is None:
        raise Conflict(ID_TAKEN.format(asset_id=asset_id[:128]))
    await outbox.append(await driver_of(conn), list(_events([write], now)))
    return write.after


async def sync_assets(
    conn: AsyncConnection, sync: AssetSync, *, now: datetime, may_write: Callable[[str], bool]
) -> list[AssetWrite]:
    """Apply an inventory snapshot; return what it did to each asset.

    `may_write(environment)` says whether the caller may change assets of an
    environment: an id of the snapshot already used in one it may not is a
    Conflict, which names neither the ids nor how many (see ID_TAKEN).
    """
    await lock_entity(await driver_of(conn), f"asset-sync:{sync.environment}")
    current = await _load_for_sync(conn, sync)
    if any(not may_write(asset.environment) for asset in current.values()):
        raise Conflict(SNAPSHOT_ID_TAKEN)
    writes = [plan_upsert(item.id, current.get(item.id), sync.fields_of(item), now) for item in sync.assets]
    if sync.delete_missing:
        listed = {item.id for item in sync.assets}
        writes += [
            plan_delete(asset) for asset in current.values() if asset.id not in listed and _in_scope(sync, asset)
        ]
    await apply_writes(conn, writes, now=now)
    return writes


def _in_scope(sync: AssetSync, asset: AssetView) -> bool:
    return asset.environment == sync.environment and (sync.source is None or asset.source == sync.source)


async def _load_for_sync(conn: AsyncConnection, sync: AssetSync) -> dict[str, AssetView]:
    wanted: ColumnElement[bool] = assets.c.id == _any([item.id for item in sync.assets])
    if sync.delete_missing:
        scope = assets.c.environment == sync.environment
        if sync.source is not None:
            scope = and_(scope, assets.c.source == sync.source)
        wanted = or_(wanted, scope)
    statement = select(*_COLUMNS).where(wanted).order_by(assets.c.id).with_for_update()
    return {row.id: _view(row) for row in await conn.execute(statement)}


# SET takes every column named in the parameters (all but the id).
_UPDATE = update(assets).where(assets.c.id == bindparam("_id"))


async def apply_writes(conn: AsyncConnection, writes: Sequence[AssetWrite], *, now: datetime) -> int:
    """Store planned writes in a few statements; append their events; return how many."""
    by_kind: dict[str, list[AssetWrite]] = {"insert": [], "update": [], "delete": []}
    for write in writes:
        if write.kind != "none":
            by_kind[write.kind].append(write)
    if by_kind["insert"]:
        await conn.execute(insert(assets), [_after(w).model_dump() for w in by_kind["insert"]])
    if by_kind["update"]:
        rows = [{"_id": after.id, **after.model_dump(exclude={"id"})} for after in map(_after, by_kind["update"])]
        await conn.execute(_UPDATE, rows)
    if by_kind["delete"]:
        doomed = [w.before.id for w in by_kind["delete"] if w.before is not None]
        await conn.execute(delete(assets).where(assets.c.id == _any(doomed)))
    return await outbox.append(await driver_of(conn), list(_events(writes, now)))


def _any(ids: list[str]) -> ColumnElement[Any]:
    # One array parameter, not an IN list of thousands of parameters to render and send.
    return any_(bindparam("ids", ids, type_=ARRAY(Text)))


def _after(write: AssetWrite) -> AssetView:
    assert write.after is not None
    return write.after


def _events(writes: Iterable[AssetWrite], now: datetime) -> Iterable[NewEvent]:
    for write in writes:
        for step in write.steps:
            yield NewEvent(
                topic="asset",
                action=step.action,
                data=step.asset.data().wire(),
                timestamp=now,
                environment=step.asset.environment,
            )
