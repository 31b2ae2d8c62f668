"""Graceful shutdown: stop accepting, finish what is in flight, release the database."""

from __future__ import annotations

import asyncio
import signal

import httpx
import psycopg
import pytest

from tests.conftest import JWT_SECRET
from tests.support.jira import issue_event
from tests.support.server import server_process


async def _until_waiting_on_a_lock(database_url: str) -> None:
    """Until some backend of this database waits for an advisory lock (the request is in flight)."""
    async with asyncio.timeout(10), await psycopg.AsyncConnection.connect(database_url, autocommit=True) as conn:
        while True:
            row = await (
                await conn.execute("SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND NOT granted")
            ).fetchone()
            if row and row[0]:
                return
            await asyncio.sleep(0.02)


async def _until_refusing(port: int) -> None:
    """Until the listening socket is closed: probe with bare TCP connects, no requests."""
    async with asyncio.timeout(10):
        while True:
            try:
                _, writer = await asyncio.open_connection("127.0.0.1", port)
            except (ConnectionRefusedError, ConnectionResetError):
                # A connect caught in the backlog as the listening socket closes is reset, not refused.
                return
            writer.close()
            await asyncio.sleep(0.02)


@pytest.mark.timeout(60)
async def test_sigterm_finishes_the_webhook_in_flight_then_refuses_new_ones_and_exits_cleanly(
    database_url: str,
) -> None:
    env = {"DATABASE_URL": database_url, "JWT_SECRET": JWT_SECRET}
    with server_process(env) as running, psycopg.connect(database_url) as blocker:
        # Hold the issue's lock so the delivery is caught mid-transaction.
        blocker.execute("SELECT pg_advisory_xact_lock(1, hashtext('jira-issue:10001'))")
        async with httpx.AsyncClient(timeout=20) as http:
            in_flight = asyncio.create_task(http.post(f"{running.http}/api/webhooks/jira", json=issue_event(1)))
            await _until_waiting_on_a_lock(database_url)
            running.process.send_signal(signal.SIGTERM)
            await _until_refusing(running.port)
            with pytest.raises(httpx.ConnectError):
                await http.post(f"{running.http}/api/webhooks/jira", json=issue_event(2))
            blocker.rollback()
            response = await in_flight
        status = await asyncio.to_thread(running.process.wait, 30)

    assert response.status_code == 200
    assert status == 0
    with psycopg.connect(database_url) as conn:
        assert conn.execute("SELECT jira_key FROM incidents").fetchall() == [("OPS-1",)]
        # The process released its connections: only ours is left.
        others = conn.execute(
            "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()"
        ).fetchone()
    assert others == (0,)
