"""The asset inventory's changes: create, replace or patch, delete, sync a snapshot.

Each stores the change and its `asset` message in one transaction, within the
environments the writer's token grants; a change that changes nothing sends
nothing.
"""

from __future__ import annotations

from collections.abc import Callable

from sqlalchemy.ext.asyncio import AsyncEngine

from app.auth.principal import Principal
from app.clock import utcnow
from app.db.driver import PgConnection
from app.db.failures import UNIQUE_VIOLATION, DatabaseError, constraint, sqlstate
from app.domain.assets import AssetFields, AssetSync, AssetView, AssetWrite, plan_delete, plan_upsert
from app.errors import Forbidden, NotFound
from app.ingest.transaction import write, write_retrying
from app.store import assets as store


async def create(engine: AsyncEngine, principal: Principal, asset_id: str, fields: AssetFields) -> AssetView:
    """A new asset; Conflict when the id is taken (whether by an asset the writer may see is not said)."""
    require_environment(principal, fields.environment)
    async with write(engine) as conn:
        return await store.create_asset(conn, asset_id, fields, now=utcnow())


async def change(
    engine: AsyncEngine, principal: Principal, asset_id: str, changed: Callable[[AssetView], AssetFields]
) -> AssetView:
    """Replace or patch: `changed` gets the stored asset and returns its new fields."""
    async with write(engine) as conn:
        current = await _load_writable(conn, principal, asset_id)
        fields = changed(current)
        require_environment(principal, fields.environment)
        now = utcnow()
        planned = plan_upsert(asset_id, current, fields, now)
        await store.apply_writes(conn, [planned], now=now)
    assert planned.after is not None
    return planned.after


async def delete(engine: AsyncEngine, principal: Principal, asset_id: str) -> None:
    """Delete; its message carries the last stored state."""
    async with write(engine) as conn:
        current = await _load_writable(conn, principal, asset_id)
        await store.apply_writes(conn, [plan_delete(current)], now=utcnow())


async def sync(engine: AsyncEngine, principal: Principal, snapshot: AssetSync) -> list[AssetWrite]:
    """An environment's inventory snapshot, all of it or nothing: the writes it made."""
    require_environment(principal, snapshot.environment)
    now = utcnow()

    async def work(conn: PgConnection) -> list[AssetWrite]:
        return await store.sync_assets(
            conn, snapshot, now=now, may_write=lambda env: principal.may_see(None, env, None)
        )

    return await write_retrying(engine, work, retry_on=_id_taken_meanwhile)


def require_environment(principal: Principal, environment: str) -> None:
    if not principal.may_see(None, environment, None):
        raise Forbidden(f"your token does not grant the environment {environment!r}")


def _id_taken_meanwhile(error: DatabaseError) -> bool:
    """A new id of the snapshot was created by someone else after the sync read: run it again."""
    return sqlstate(error) == UNIQUE_VIOLATION and constraint(error) == "assets_pkey"


async def _load_writable(conn: PgConnection, principal: Principal, asset_id: str) -> AssetView:
    current = await store.load_asset(conn, asset_id, for_update=True)
    if current is None or not principal.may_see(None, current.environment, None):
        raise NotFound(f"no asset with id {asset_id[:128]!r}")
    return current
