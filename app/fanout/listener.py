"""The process's one LISTEN connection: wakes on NOTIFY, reads the log, feeds the hub.

NOTIFY is a doorbell, not the carrier. On every ring, on a short timer when
none comes, and after every reconnect, the listener reads everything after
the last position it handed to the hub, in position order. A lost notification
costs at most one poll interval; a lost connection costs nothing but the time
to reconnect. Notifications that never arrive (LISTEN through a transaction
pooler) are noticed and reported (app/fanout/doorbell.py).

The connection is DATABASE_LISTEN_URL's (DATABASE_URL's when unset): LISTEN
needs a session of its own, which a transaction pooler does not give.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Sequence
from typing import Protocol

import psycopg
from psycopg import sql

from app.db import driver
from app.db.schema import EVENTS_CHANNEL
from app.fanout import log
from app.fanout.doorbell import Doorbell
from app.fanout.frames import Event
from app.observability import metrics

_log = logging.getLogger(__name__)

_BATCH = 1000
# A read that takes longer than this is treated as a dead connection.
_READ_TIMEOUT = 10.0
_MIN_BACKOFF = 0.1
_MAX_BACKOFF = 5.0


class Fed(Protocol):
    """What the listener feeds: the hub, or a relay's publisher to the broker (app/broker/relay.py).

    `publish` returns once what it was handed is taken, waiting as long as that takes (a
    publisher waits for its broker): an exception from it is taken for a lost connection."""

    @property
    def started(self) -> bool: ...

    @property
    def position(self) -> int: ...

    @property
    def recent_capacity(self) -> int: ...

    def start_at(self, position: int, recent: Sequence[Event] = (), *, holds_after: int | None = None) -> None: ...

    async def publish(self, events: Sequence[Event]) -> None: ...


class Listener:
    def __init__(self, listen_url: str, hub: Fed, *, poll_interval: float) -> None:
        self._url = listen_url
        self._hub = hub
        self._poll_interval = poll_interval
        self._connected = asyncio.Event()
        self.reconnects = 0
        self.last_read_at = 0.0
        self.doorbell = Doorbell(poll_interval)

    @property
    def ready(self) -> bool:
        return self._connected.is_set() and self._hub.started

    async def wait_ready(self) -> None:
        await self._connected.wait()

    async def run(self) -> None:
        """Listen forever, reconnecting with backoff; cancel to stop."""
        try:
            await self._run()
        finally:
            self.doorbell.stopped()

    async def _run(self) -> None:
        backoff = _MIN_BACKOFF
        while True:
            try:
                await self._listen()
            except (psycopg.Error, OSError, TimeoutError) as exc:
                _log.warning("event listener lost its connection: %s", exc)
            except Exception:  # noqa: BLE001
                # A bug, not an outage: say so loudly, but keep the process fed.
                _log.exception("event listener failed; restarting it")
            if self._connected.is_set():
                backoff = _MIN_BACKOFF  # it was up until now: the first retry comes quickly
                self._connected.clear()
            self.reconnects += 1
            metrics.LISTENER_RECONNECTS.inc()
            await asyncio.sleep(backoff)
            backoff = min(backoff * 2, _MAX_BACKOFF)

    async def _listen(self) -> None:
        conn = await driver.connect(self._url, application_name="ops-bridge-listener", autocommit=True)
        async with conn:
            await conn.execute(sql.SQL("LISTEN {}").format(sql.Identifier(EVENTS_CHANNEL)))
            if not self._hub.started:
                await self._start_hub(conn)
            await self._catch_up(conn)
            self._connected.set()
            _log.info("event listener connected at position %d", self._hub.position)
            while True:
                rang = False
                async for _ in conn.notifies(timeout=self._poll_interval, stop_after=1):
                    rang = True
                found = await self._catch_up(conn)
                if rang:
                    self.doorbell.rang()
                else:
                    self.doorbell.timer_read(found)

    async def _start_hub(self, conn: psycopg.AsyncConnection[object]) -> None:
        """Start the hub at the newest position, its ring warmed with the events before it:
        after a restart the dashboards reconnect from about there, and find what they
        missed in memory instead of each reading the log."""
        async with asyncio.timeout(_READ_TIMEOUT):
            newest = await log.newest_position(conn)
            recent, floor = await log.read_recent(conn, newest, limit=self._hub.recent_capacity)
        self._hub.start_at(newest, recent, holds_after=floor)
        _log.info("replay buffer warmed with %d events: resumes from position %d on need no read", len(recent), floor)

    async def _catch_up(self, conn: psycopg.AsyncConnection[object]) -> int:
        """Hand the hub every event after its position; how many there were."""
        found = 0
        while True:
            async with asyncio.timeout(_READ_TIMEOUT):
                events = await log.read_after(conn, self._hub.position, limit=_BATCH)
            self.last_read_at = time.monotonic()
            metrics.listener_read(events)
            found += len(events)
            if events:
                await self._hub.publish(events)
            if len(events) < _BATCH:
                return found
