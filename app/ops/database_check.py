"""`ops-bridge check`'s findings about the database (app/ops/check.py runs them).

In order: the server answers; it has room for the service's connections (how
many one process opens, from the settings: `connections_per_process`); it
accepts writes (a hot standby, or a primary being failed over, does not: every
write would get 503); its schema is at this release's migrations; the event
log's trigger is in place; and a NOTIFY sent through DATABASE_URL reaches a
LISTEN connection on DATABASE_LISTEN_URL (what a transaction pooler silently
breaks). Nothing here prints a secret: app/ops/check.py scrubs every finding.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal

import psycopg
from psycopg import sql
from sqlalchemy import text
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncConnection

from app.config import Settings
from app.db.engine import POOLER_SAFE, create_engine
from app.db.revision import event_trigger, schema_state
from app.db.urls import libpq_url

Level = Literal["ok", "warn", "FAIL"]
Add = Callable[[Level, str, str], None]

_NOTIFY_WAIT_SECONDS = 3.0


@dataclass(frozen=True, slots=True)
class Connections:
    """What one `ops-bridge serve` process (or worker) opens at most."""

    pool: int  # DATABASE_POOL_SIZE + DATABASE_MAX_OVERFLOW: requests, jobs, readiness, replays
    writers: int  # one per webhook sender that writes in batches (app/ingest/batch_writer.py)
    listen: int = 1  # the LISTEN connection, on DATABASE_LISTEN_URL
    leader: int = 1  # the bid for the leader's lock (app/leadership.py), on DATABASE_LISTEN_URL

    @property
    def pooled(self) -> int:
        """Through DATABASE_URL: what a transaction pooler may carry."""
        return self.pool + self.writers

    @property
    def total(self) -> int:
        return self.pooled + self.listen + self.leader

    def describe(self) -> str:
        return (
            f"{self.pool} pool (DATABASE_POOL_SIZE + DATABASE_MAX_OVERFLOW), {self.writers} webhook writer(s), "
            "1 LISTEN, 1 leader"
        )


def connections_per_process(settings: Settings) -> Connections:
    from app.senders.registry import SENDERS  # the webhook routes: imported only when counted

    writers = sum(1 for entry in SENDERS.values() if entry.build({}).set_writer is not None)
    return Connections(pool=settings.database_pool_size + settings.database_max_overflow, writers=writers)


async def check_database(add: Add, settings: Settings, url: str) -> None:
    """Every database finding, for the service's settings with `url` as its DATABASE_URL."""
    where = make_url(url).render_as_string(hide_password=True)
    engine = create_engine(url, pool_size=1, max_overflow=0)
    try:
        async with engine.connect() as conn:
            version = (await conn.execute(text("SHOW server_version"))).scalar_one()
            add("ok", "database", f"reached {where} (PostgreSQL {version})")
            await _room(add, settings, conn)
            await _writable(add, conn)
            if await _schema(add, conn):
                await _trigger(add, conn)
    except Exception as exc:  # noqa: BLE001 - every failure becomes a finding, in words
        add("FAIL", "database", f"cannot connect to {where}: {_first_line(exc)}")
        return
    finally:
        await engine.dispose()
    await _notify_round_trip(add, url, settings.database_listen_url)


async def _room(add: Add, settings: Settings, conn: AsyncConnection) -> None:
    allowed = int((await conn.execute(text("SHOW max_connections"))).scalar_one())
    reserved = int((await conn.execute(text("SHOW superuser_reserved_connections"))).scalar_one())
    each = connections_per_process(settings)
    processes = (allowed - reserved) // each.total
    add(
        "ok" if processes >= 1 else "FAIL",
        "database",
        f"max_connections {allowed}: room for {processes} service process(es) connecting directly, at "
        f"{each.total} connections each ({each.describe()}) and nothing else using the server; behind a "
        "transaction pooler, 2 each (LISTEN, leader) beside the pooler's own",
    )


async def _writable(add: Add, conn: AsyncConnection) -> None:
    standby, read_only = (
        await conn.execute(text("SELECT pg_is_in_recovery(), current_setting('transaction_read_only') = 'on'"))
    ).one()
    if standby:
        add(
            "FAIL",
            "database",
            "the server is a hot standby (read-only): every write would get 503 DATABASE_UNAVAILABLE; "
            "point DATABASE_URL at the primary",
        )
    elif read_only:
        add(
            "FAIL",
            "database",
            "transactions are read-only (default_transaction_read_only is on, as on a primary being failed over): "
            "every write would get 503 DATABASE_UNAVAILABLE; point DATABASE_URL at the writable primary",
        )
    else:
        add("ok", "database", "accepts writes")


async def _schema(add: Add, conn: AsyncConnection) -> bool:
    state = await schema_state(conn)
    add("ok" if state.usable else "FAIL", "migrations", state.explain())
    return state.status != "empty"


async def _trigger(add: Add, conn: AsyncConnection) -> None:
    problem = await event_trigger(conn)
    if problem is None:
        add("ok", "event log", "the position trigger is in place and enabled")
    else:
        add("FAIL", "event log", problem)


async def _notify_round_trip(add: Add, url: str, listen_url: str | None) -> None:
    """LISTEN where the service listens, NOTIFY where it writes: what its listener relies on."""
    channel = f"ops_bridge_check_{uuid.uuid4().hex[:12]}"
    on = " on DATABASE_LISTEN_URL" if listen_url else ""
    try:
        async with (
            await _connect(listen_url or url) as listener,
            await _connect(url) as notifier,
        ):
            await listener.execute(sql.SQL("LISTEN {}").format(sql.Identifier(channel)))
            await notifier.execute(sql.SQL("NOTIFY {}").format(sql.Identifier(channel)))
            arrived = [n async for n in listener.notifies(timeout=_NOTIFY_WAIT_SECONDS, stop_after=1)]
    except psycopg.Error as exc:
        add("FAIL", "listen/notify", f"could not be tried{on}: {_first_line(exc)}")
        return
    if arrived:
        add("ok", "listen/notify", f"a NOTIFY reached a LISTEN connection{on}")
        return
    fix = (
        "DATABASE_LISTEN_URL must reach the same database directly (or through session pooling)"
        if listen_url
        else "set DATABASE_LISTEN_URL to a direct connection to PostgreSQL (or one through session pooling): "
        "only LISTEN needs one, everything else works through the pooler"
    )
    add(
        "FAIL",
        "listen/notify",
        f"a NOTIFY sent through DATABASE_URL did not reach a LISTEN connection{on or ' on DATABASE_URL'} within "
        f"{_NOTIFY_WAIT_SECONDS:g}s: a transaction pooler (PgBouncer pool_mode=transaction) in between loses "
        f"notifications, and events reach subscribers only on the listener's timer (LISTENER_POLL_INTERVAL late). "
        f"Fix: {fix}",
    )


async def _connect(url: str) -> psycopg.AsyncConnection[tuple[object, ...]]:
    return await psycopg.AsyncConnection.connect(libpq_url(url), autocommit=True, connect_timeout=5, **POOLER_SAFE)


def _first_line(exc: BaseException) -> str:
    lines = str(exc).strip().splitlines()
    return (lines[0] if lines else type(exc).__name__)[:300]
