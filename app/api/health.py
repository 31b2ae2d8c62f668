"""Liveness and readiness, each with what an operator needs to act on.

/healthz: the process serves HTTP (restart it if not). /readyz: it can do its
work: the database answers within a few seconds, its schema is one this
release can run on, and the event listener is connected (send it traffic only
if so); a failing check names itself and says why in plain words. A check that
is degraded but not failing (`notify`: events arrive by the listener's timer
because no NOTIFY does) keeps the process ready and says why under `warnings`.
"""

from __future__ import annotations

import asyncio
import time
from typing import Literal

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import text

from app.api import role_health
from app.db.revision import schema_state
from app.fanout.listener import Listener
from app.logs import redact
from app.runtime import Runtime, runtime_of

router = APIRouter(tags=["operations"])

_DATABASE_TIMEOUT = 3.0


class Alive(BaseModel):
    status: Literal["ok"]


class ListenerState(BaseModel):
    connected: bool
    reconnects: int
    last_read_seconds_ago: float | None = Field(default=None, description="Absent before the first read.")


class Readiness(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {"status": "ready", "checks": {"database": "ok", "schema": "ok", "listener": "ok", "notify": "ok"},
                 "listener": {"connected": True, "reconnects": 0, "last_read_seconds_ago": 0.42}, "position": 1046},
                {"status": "ready",
                 "checks": {"database": "ok", "schema": "ok", "listener": "ok", "notify": "degraded"},
                 "warnings": {"notify": "events are found by the 1s timer, never announced by NOTIFY: delivery works, "
                                        "up to 1s late; is a transaction pooler (PgBouncer pool_mode=transaction) "
                                        "between the listener and PostgreSQL? Set DATABASE_LISTEN_URL to a direct "
                                        "connection (or one through session pooling)"},
                 "listener": {"connected": True, "reconnects": 0, "last_read_seconds_ago": 0.03}, "position": 88},
                {"status": "not ready",
                 "checks": {"database": "down", "schema": "unknown", "listener": "down", "notify": "unknown"},
                 "reasons": {"database": "no answer within 3s",
                             "listener": "the LISTEN connection is lost and being re-made (2 reconnect(s) so far); "
                                         "subscribers of this process get nothing meanwhile"},
                 "listener": {"connected": False, "reconnects": 2}},
            ]
        }
    )  # fmt: skip

    status: Literal["ready", "not ready"]
    checks: dict[Literal["database", "schema", "listener", "notify"], Literal["ok", "down", "degraded", "unknown"]]
    reasons: dict[str, str] | None = Field(default=None, description="Why each failing check failed, in plain words.")
    warnings: dict[str, str] | None = Field(
        default=None, description="Why each degraded check (the process stays ready) is degraded, and the fix."
    )
    listener: ListenerState
    position: int | None = Field(default=None, description="The event-log position this process has reached.")


@router.get("/healthz", summary="Liveness: the process is serving", response_model=Alive)
async def healthz() -> dict[str, str]:
    """Answers while the process serves HTTP, whatever the database does: restart the process if not."""
    return {"status": "ok"}


@router.get(
    "/readyz",
    summary="Readiness: the database answers, its schema is current, and the event listener is connected",
    responses={
        200: {"model": Readiness, "description": "Ready: send it traffic"},
        503: {"model": Readiness, "description": "Not ready: `reasons` says which check failed and why"},
    },
)
async def readyz(request: Request) -> JSONResponse:
    """The database answers within 3 s, its schema is one this release runs on, and the event listener is
    connected. A load balancer sends traffic only to a ready process."""
    runtime = runtime_of(request)
    if runtime.settings.role != "all":
        return await _role_readiness(runtime)
    reasons: dict[str, str] = {}
    database_reason, schema_reason = await _database(runtime)
    if database_reason is not None:
        reasons["database"] = database_reason
    if schema_reason is not None:
        reasons["schema"] = schema_reason
    listener_reason = _listener(runtime)
    if listener_reason is not None:
        reasons["listener"] = listener_reason
    checks = {name: "down" if name in reasons else "ok" for name in ("database", "schema", "listener")}
    if database_reason is not None:
        checks["schema"] = "unknown"
    checks["notify"], warnings = _notify(runtime)
    body: dict[str, object] = {"status": "not ready" if reasons else "ready", "checks": checks}
    if reasons:
        body["reasons"] = reasons
    if warnings:
        body["warnings"] = warnings
    body["listener"] = _listener_details(runtime)
    if runtime.hub.started:
        body["position"] = runtime.hub.position
    return JSONResponse(body, status_code=503 if reasons else 200)


async def _role_readiness(runtime: Runtime) -> JSONResponse:
    """ingest, relay, edge: each checks what it depends on (app/api/role_health.py)."""
    found: dict[str, str | None] = {}
    body: dict[str, object] = {"role": runtime.settings.role}
    feed = runtime.edge_feed
    if feed is None:
        found["database"], found["schema"] = await _database(runtime)
    if runtime.relay is not None:
        found["relay"] = role_health.relay_reason(runtime.relay)
        if found["database"] is None:
            body["relay"] = await role_health.relay_lag(runtime, runtime.relay)
    if feed is not None:
        found["broker"] = role_health.edge_reason(feed)
        body["broker"] = await role_health.edge_details(feed)
        if runtime.hub.started:
            body["position"] = runtime.hub.position
    reasons = {name: reason for name, reason in found.items() if reason is not None}
    checks = {name: "down" if reason else "ok" for name, reason in found.items()}
    body = {"status": "not ready" if reasons else "ready", "checks": checks, **body}
    if reasons:
        body["reasons"] = reasons
    return JSONResponse(body, status_code=503 if reasons else 200)


async def _database(runtime: Runtime) -> tuple[str | None, str | None]:
    """(why the database is not usable, why its schema is not), None where it is."""
    try:
        async with asyncio.timeout(_DATABASE_TIMEOUT):
            async with runtime.engine.connect() as conn:
                await conn.execute(text("SELECT 1"))
                state = await schema_state(conn)
    except TimeoutError:
        return f"no answer within {_DATABASE_TIMEOUT:g}s", None
    except Exception as exc:  # noqa: BLE001 - any failure means "not ready", reported, never raised
        return f"unreachable: {redact(_first_line(exc))}", None
    return None, None if state.usable else state.explain()


def _listener(runtime: Runtime) -> str | None:
    listener = runtime.listener
    if listener.ready:
        return None
    if not runtime.hub.started:
        return "the event listener has not connected yet (start-up, or the database refuses it)"
    return (
        "the LISTEN connection is lost and being re-made "
        f"({listener.reconnects} reconnect(s) so far); subscribers of this process get nothing meanwhile"
    )


def _notify(runtime: Runtime) -> tuple[str, dict[str, str]]:
    """Whether NOTIFY reaches the listener: the check's value, and a warning when degraded."""
    listener = runtime.listener
    if not isinstance(listener, Listener) or not listener.ready:
        return "unknown", {}
    if listener.doorbell.degraded:
        return "degraded", {"notify": listener.doorbell.explain()}
    return "ok", {}


def _listener_details(runtime: Runtime) -> dict[str, object]:
    listener = runtime.listener
    details: dict[str, object] = {"connected": listener.ready, "reconnects": listener.reconnects}
    if listener.last_read_at:
        details["last_read_seconds_ago"] = round(time.monotonic() - listener.last_read_at, 3)
    return details


def _first_line(exc: BaseException) -> str:
    lines = str(exc).strip().splitlines()
    return (lines[0] if lines else type(exc).__name__)[:300]
