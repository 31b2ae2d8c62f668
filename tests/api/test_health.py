"""Liveness and readiness."""

from __future__ import annotations

import asyncio

import httpx
import psycopg
from sqlalchemy.engine import make_url

from tests.support.server import RunningServer


async def _readiness(http: httpx.AsyncClient, wanted: int) -> httpx.Response:
    """Poll /readyz until it answers `wanted` (what an orchestrator does)."""
    async with asyncio.timeout(20):
        while True:
            response = await http.get("/readyz")
            if response.status_code == wanted:
                return response
            await asyncio.sleep(0.05)


async def test_readyz_is_not_ready_while_the_listener_cannot_reconnect(
    server: RunningServer, http: httpx.AsyncClient, database_url: str
) -> None:
    name = make_url(database_url).database
    admin_url = make_url(database_url).set(database="postgres").render_as_string(hide_password=False)
    checks = {"database": "ok", "schema": "ok", "listener": "ok", "notify": "ok"}
    assert (await http.get("/readyz")).json()["checks"] == checks
    with psycopg.connect(admin_url, autocommit=True) as admin:
        admin.execute(f'ALTER DATABASE "{name}" ALLOW_CONNECTIONS false')
        try:
            admin.execute(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                "WHERE application_name = 'ops-bridge-listener' AND datname = %s",
                [name],
            )
            down = await _readiness(http, 503)
        finally:
            admin.execute(f'ALTER DATABASE "{name}" ALLOW_CONNECTIONS true')
    up = await _readiness(http, 200)

    assert down.json()["status"] == "not ready"
    assert down.json()["checks"]["listener"] == "down"
    assert down.json()["checks"]["notify"] == "unknown"
    assert "LISTEN connection is lost" in down.json()["reasons"]["listener"]
    assert up.json()["checks"] == checks


async def test_healthz_answers_while_the_process_runs(http: httpx.AsyncClient) -> None:
    response = await http.get("/healthz")

    assert response.status_code == 200
    assert response.json() == {"status": "ok"}
