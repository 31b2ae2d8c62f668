"""Assets: load them, write planned changes and append their `asset` events, in the
caller's transaction.

Writers of one asset lock its row (`SELECT ... FOR UPDATE`); a sync locks
every row it may touch, in id order (so two syncs cannot deadlock each other),
after a per-environment advisory lock that keeps two syncs of one environment
from interleaving their deletions. Row locks live in the rows, not in the
shared lock table, so a snapshot of 10,000 assets cannot exhaust it.

Built as statements (app/db/driver.py): a sync is two messages whatever the
snapshot's size (the locks and the read, then every write and the events),
each table's rows travelling as one JSON parameter.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from datetime import datetime

from psycopg import sql

from app.db.driver import PgConnection, Rows, Statement, rows_json, run
from app.domain.assets import AssetFields, AssetSync, AssetView, AssetWrite, plan_delete, plan_upsert
from app.errors import Conflict
from app.store import outbox
from app.store.locks import lock_statement
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
_NAMES = sql.SQL(", ").join(map(sql.Identifier, _FIELDS))
_SELECT = sql.SQL("SELECT {} FROM assets ").format(_NAMES).as_string()
# One array of ids, not an IN list of thousands of parameters: the index still serves it.
_IDS = "id = ANY(ARRAY(SELECT json_array_elements_text(%s::json)))"
_INSERT = (
    sql.SQL("INSERT INTO assets ({}) SELECT {} FROM json_populate_recordset(NULL::assets, %s::json)")
    .format(_NAMES, _NAMES)
    .as_string()
)
_UPDATE = (
    sql.SQL("UPDATE assets AS a SET {} FROM json_populate_recordset(NULL::assets, %s::json) AS r WHERE a.id = r.id")
    .format(
        sql.SQL(", ").join(
            sql.SQL("{} = r.{}").format(sql.Identifier(f), sql.Identifier(f)) for f in _FIELDS if f != "id"
        )
    )
    .as_string()
)
_DELETE = "DELETE FROM assets WHERE " + _IDS  # noqa: S608 - two constants, no input


def _views(rows: Rows) -> list[AssetView]:
    return [AssetView.model_validate(dict(zip(_FIELDS, row, strict=True))) for row in rows]


async def load_asset(conn: PgConnection, asset_id: str, *, for_update: bool = False) -> AssetView | None:
    (rows,) = await run(
        conn, [Statement(_SELECT + "WHERE id = %s" + (" FOR UPDATE" if for_update else ""), (asset_id,))]
    )
    return next(iter(_views(rows)), None)


async def create_asset(conn: PgConnection, asset_id: str, fields: AssetFields, *, now: datetime) -> AssetView:
    """Store a new asset and its `created` event; Conflict if the id is taken."""
    write = plan_upsert(asset_id, None, fields, now)
    after = _after(write)
    (inserted,) = await run(conn, [Statement(_INSERT + " ON CONFLICT (id) DO NOTHING RETURNING id", (_rows([after]),))])
    if not inserted:
        raise Conflict(ID_TAKEN.format(asset_id=asset_id[:128]))
    await outbox.append(conn, list(_events([write], now)))
    return after


async def sync_assets(
    conn: PgConnection, sync: AssetSync, *, now: datetime, may_write: Callable[[str], bool]
) -> list[AssetWrite]:
    """Apply an inventory snapshot; return what it did to each asset.

    `may_write(environment)` says whether the caller may change assets of an
    environment: an id of the snapshot already used in one it may not is a
    Conflict, which names neither the ids nor how many (see ID_TAKEN).
    """
    _locked, loaded = await run(conn, [lock_statement([f"asset-sync:{sync.environment}"]), _load_for_sync(sync)])
    current = {asset.id: asset for asset in _views(loaded)}
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


def _load_for_sync(sync: AssetSync) -> Statement:
    """The snapshot's assets and (when it deletes what it leaves out) the rest of its scope,
    locked in id order. A statement of its own, after the sync's lock, so that it sees
    what the last sync of the environment committed."""
    wanted, params = _IDS, [rows_json([item.id for item in sync.assets])]
    if sync.delete_missing:
        scope = "environment = %s"
        params.append(sync.environment)
        if sync.source is not None:
            scope += " AND source = %s"
            params.append(sync.source)
        wanted = f"{wanted} OR ({scope})"
    return Statement(_SELECT + f"WHERE {wanted} ORDER BY id FOR UPDATE", tuple(params))


async def apply_writes(conn: PgConnection, writes: Sequence[AssetWrite], *, now: datetime) -> int:
    """Store planned writes and append their events, in one message; return how many events."""
    by_kind: dict[str, list[AssetWrite]] = {"insert": [], "update": [], "delete": []}
    for write in writes:
        if write.kind != "none":
            by_kind[write.kind].append(write)
    statements = []
    if by_kind["insert"]:
        statements.append(Statement(_INSERT, (_rows(map(_after, by_kind["insert"])),)))
    if by_kind["update"]:
        statements.append(Statement(_UPDATE, (_rows(map(_after, by_kind["update"])),)))
    if by_kind["delete"]:
        doomed = [w.before.id for w in by_kind["delete"] if w.before is not None]
        statements.append(Statement(_DELETE, (rows_json(doomed),)))
    new_events = list(_events(writes, now))
    await run(conn, [*statements, *outbox.append_statements(new_events)])
    return len(new_events)


def _rows(views: Iterable[AssetView]) -> str:
    return rows_json([view.model_dump() for view in views])


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
