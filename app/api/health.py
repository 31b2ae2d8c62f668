"""Liveness and readiness."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from sqlalchemy import text

from app.api.deps import runtime_of

router = APIRouter(tags=["operations"])


@router.get("/healthz", summary="Liveness: the process is serving")
async def healthz() -> dict[str, str]:
    return {"status": "ok"}


@router.get("/readyz", summary="Readiness: the database answers and the event listener is connected")
async def readyz(request: Request) -> JSONResponse:
    runtime = runtime_of(request)
    checks = {"database": "ok", "listener": "ok" if runtime.listener.ready else "down"}
    try:
        async with runtime.engine.connect() as conn:
            await conn.execute(text("SELECT 1"))
    except Exception:  # noqa: BLE001 - any failure means "not ready", reported, never raised
        checks["database"] = "down"
    ready = all(value == "ok" for value in checks.values())
    body: dict[str, object] = {"status": "ready" if ready else "not ready", "checks": checks}
    if runtime.hub.started:
        body["position"] = runtime.hub.position
    return JSONResponse(body, status_code=200 if ready else 503)
