"""/api/assets: the asset inventory. Anyone may read what their environments
grant; publishers and admins create, replace, patch, delete and sync.

Every change sends an `asset` message (`created`, `updated`, `deleted`) to the
asset's environment, in the transaction that stores it; a write that changes
nothing sends nothing. docs/api.md describes ids and the bulk sync.
"""

from __future__ import annotations

import logging
from typing import Annotated, Literal

from fastapi import APIRouter, Query, Request, Response
from pydantic import BaseModel, Field

from app.api import responses
from app.api.auth import Authenticated, Publisher
from app.api.list_queries import AnyOf, ListQuery, Name, Page, RowId, list_rows, ranked, read_row
from app.api.routing import JsonApiRoute
from app.contract.payloads import Environment, RiskLevel
from app.db.schema import assets
from app.domain.assets import AssetCreate, AssetFields, AssetPatch, AssetSync, AssetView, new_asset_id, summarize
from app.ingest import assets as assets_ingest
from app.runtime import runtime_of
from app.store.pages import Listing, SortKey
from app.store.visibility import visible_to

router = APIRouter(route_class=JsonApiRoute, tags=["assets"])
_log = logging.getLogger(__name__)

_ANY = "Any of these (repeat the parameter, or separate values with commas)."

ASSETS = Listing(
    table=assets,
    columns=[assets.c[name] for name in AssetView.model_fields],
    sorts={
        "updated_at": SortKey(assets.c.updated_at, "timestamp"),
        "created_at": SortKey(assets.c.created_at, "timestamp"),
        "hostname": SortKey(assets.c.hostname, "text"),
        "risk_level": SortKey(ranked(assets.c.risk_level, ("low", "medium", "high", "critical")), "integer"),
        "id": SortKey(assets.c.id, "text"),
    },
    visibility=lambda principal: visible_to(principal, environment=assets.c.environment),
)


class AssetQuery(ListQuery):
    sort: Literal["updated_at", "created_at", "hostname", "risk_level", "id"] = "updated_at"
    environment: Annotated[list[Environment], AnyOf] = Field(default_factory=list, description=_ANY)
    risk_level: Annotated[list[RiskLevel], AnyOf] = Field(default_factory=list, description=_ANY)
    asset_type: Annotated[list[Name], AnyOf] = Field(default_factory=list, description=_ANY)
    source: Annotated[list[Name], AnyOf] = Field(default_factory=list, description=_ANY)


_FILTERS = {
    "environment": lambda value: assets.c.environment.in_(value),
    "risk_level": lambda value: assets.c.risk_level.in_(value),
    "asset_type": lambda value: assets.c.asset_type.in_(value),
    "source": lambda value: assets.c.source.in_(value),
    "updated_since": lambda value: assets.c.updated_at >= value,
}


class AssetPage(Page[AssetView]):
    pass


class SyncResult(BaseModel):
    """What a sync did: assets per outcome, and the messages it sent."""

    created: int
    updated: int
    unchanged: int
    deleted: int
    events: int


_READ = responses.errors(*responses.READ)
_ONE = responses.errors(404, *responses.READ)
_WRITE_ONE = responses.errors(
    404, *responses.WRITE, e403="FORBIDDEN: not a publisher, or the new environment is not granted"
)


@router.get("/api/assets", summary="List assets", responses=_READ, response_model_exclude_none=True)
async def list_assets(request: Request, principal: Authenticated, query: Annotated[AssetQuery, Query()]) -> AssetPage:
    """The assets of the environments your token grants, filtered, sorted and paged by an opaque cursor
    (docs/api.md). Each item is the `data` of the asset's messages."""
    items, cursor = await list_rows(request, ASSETS, principal, query, query.sort, _FILTERS, AssetView.model_validate)
    return AssetPage(items=items, next_cursor=cursor)


@router.get("/api/assets/{asset_id}", summary="Read one asset", responses=_ONE, response_model_exclude_none=True)
async def read_asset(request: Request, principal: Authenticated, asset_id: RowId) -> AssetView:
    """One asset, as its messages show it; 404 also when your token does not grant its environment."""
    return await read_row(request, ASSETS, principal, asset_id, "asset", AssetView.model_validate)


@router.post(
    "/api/assets",
    summary="Create an asset",
    status_code=201,
    responses=responses.errors(
        409, *responses.WRITE, e409="CONFLICT: the id is taken (whether by an asset you may see is not said)"
    ),
    response_model_exclude_none=True,
)
async def create_asset(request: Request, response: Response, principal: Publisher, body: AssetCreate) -> AssetView:
    """Needs `publisher` or `admin` and the asset's environment. Without `id`, the service assigns one; the
    answer's `Location` names it. Sends an `asset` `created` message."""
    asset_id = body.id or new_asset_id()
    fields = AssetFields.model_validate(body.model_dump(exclude={"id"}))
    created = await assets_ingest.create(runtime_of(request).engine, principal, asset_id, fields)
    response.headers["Location"] = f"/api/assets/{asset_id}"
    return created


@router.put(
    "/api/assets/{asset_id}",
    summary="Replace an asset",
    description="Every field is replaced (absent optional fields become null). Create with POST.",
    responses=_WRITE_ONE,
    response_model_exclude_none=True,
)
async def replace_asset(request: Request, principal: Publisher, asset_id: RowId, body: AssetFields) -> AssetView:
    return await assets_ingest.change(runtime_of(request).engine, principal, asset_id, lambda _current: body)


@router.patch(
    "/api/assets/{asset_id}",
    summary="Change some fields of an asset",
    description="A JSON merge patch (RFC 7396): fields present replace, null clears an optional field.",
    responses=_WRITE_ONE,
    response_model_exclude_none=True,
)
async def patch_asset(request: Request, principal: Publisher, asset_id: RowId, body: AssetPatch) -> AssetView:
    return await assets_ingest.change(runtime_of(request).engine, principal, asset_id, body.applied_to)


@router.delete(
    "/api/assets/{asset_id}",
    summary="Delete an asset",
    status_code=204,
    response_class=Response,
    responses=responses.errors(404, *responses.READ),
)
async def delete_asset(request: Request, principal: Publisher, asset_id: RowId) -> Response:
    """Needs `publisher` or `admin`. Sends an `asset` `deleted` message carrying the last stored state."""
    await assets_ingest.delete(runtime_of(request).engine, principal, asset_id)
    return Response(status_code=204)


@router.post(
    "/api/assets/bulk",
    summary="Sync an inventory snapshot of one environment",
    description=(
        "Creates the assets that are new, updates those that changed, leaves the others alone (no message), and "
        "with `delete_missing` deletes the environment's assets (of `source`, when given) missing from the "
        "snapshot. All in one transaction: one message per change, or nothing at all."
    ),
    responses=responses.errors(
        409,
        *responses.WRITE,
        e409="CONFLICT: ids of the snapshot are taken by assets your token may not change (not named)",
    ),
)
async def sync_assets(request: Request, principal: Publisher, body: AssetSync) -> SyncResult:
    writes = await assets_ingest.sync(runtime_of(request).engine, principal, body)
    result = SyncResult.model_validate(summarize(writes))
    _log.info(
        "asset sync of %s (source %s, by %s): %s", body.environment, body.source, principal.sub, result.model_dump()
    )
    return result
