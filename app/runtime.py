"""What a running process holds: settings, the database, the hub and what feeds it."""

from __future__ import annotations

import functools
from collections import Counter
from dataclasses import dataclass, field
from typing import Any, Protocol

from sqlalchemy.ext.asyncio import AsyncEngine
from starlette.requests import HTTPConnection

from app.auth.tokens import TokenVerifier
from app.broker.edge_feed import EdgeFeed
from app.broker.relay import Relay
from app.config import Settings
from app.db import driver
from app.fanout import log
from app.fanout.frames import Event
from app.fanout.hub import Hub
from app.fanout.replay import Lookup, ReadLog, Replay
from app.ingest.batch_writer import BatchWriter
from app.outbound.queue import OutboundCalls
from app.ratelimit import BucketsByKey, TokenBucket
from app.store import event_retention as retention
from app.store.set_writer import SetWriter


class SenderLimits:
    """One token bucket per sender; a rate of 0 turns the limit off."""

    def __init__(self, per_second: float) -> None:
        self._per_second = per_second
        self._buckets: dict[str, TokenBucket] = {}

    def get(self, sender: str) -> TokenBucket | None:
        if self._per_second <= 0:
            return None
        bucket = self._buckets.get(sender)
        if bucket is None:
            bucket = self._buckets[sender] = TokenBucket(self._per_second, 2 * self._per_second)
        return bucket


class Feed(Protocol):
    """What feeds the hub: the listener (the log), an edge's feed (the broker), or nothing
    (`ROLE=ingest` and `relay` hold no sockets)."""

    @property
    def ready(self) -> bool: ...

    reconnects: int
    last_read_at: float


class NoFeed:
    """A process that serves no subscribers: its hub is never fed."""

    ready = False
    reconnects = 0
    last_read_at = 0.0


@dataclass(frozen=True, slots=True)
class Runtime:
    settings: Settings
    engine: AsyncEngine
    hub: Hub
    listener: Feed
    verifier: TokenVerifier
    # Catch-up reads for resuming connections, shared between them.
    replay: Replay
    # ROLE=relay: the bid for the relay's lock and, while it holds it, the publishing.
    relay: Relay | None = None
    # Per-process webhook rate limits, by sender name (created on first use).
    sender_limits: SenderLimits = field(default_factory=lambda: SenderLimits(0.0))
    # Failed webhook authentications, budgeted per client address (apart from the senders').
    auth_failures: BucketsByKey = field(default_factory=lambda: BucketsByKey(rate=0.0, burst=0.0))
    # Outbound calls (SNS confirmations), made after their delivery committed.
    outbound: OutboundCalls = field(default_factory=OutboundCalls)
    # Open sockets per token subject, in this process.
    connections_by_user: Counter[str] = field(default_factory=Counter)
    # One group-commit writer per sender that can apply changes as a set.
    writers: dict[str, BatchWriter[Any]] = field(default_factory=dict)

    def writer(self, sender: str, set_writer: SetWriter[Any]) -> BatchWriter[Any]:
        found = self.writers.get(sender)
        if found is None:
            assert self.settings.database_url is not None  # the app does not start without one
            connect = functools.partial(
                driver.connect, self.settings.database_url, application_name="ops-bridge-writer"
            )
            found = self.writers[sender] = BatchWriter(connect, sender, set_writer)
        return found

    @property
    def edge_feed(self) -> EdgeFeed | None:
        return self.listener if isinstance(self.listener, EdgeFeed) else None

    @property
    def serves_sockets(self) -> bool:
        return self.settings.role in ("all", "edge")


def log_reader(engine: AsyncEngine) -> ReadLog:
    """Reads of the event log through `engine`'s pool: events in (after, upto], at most limit."""

    async def read_log(after: int, upto: int, limit: int) -> list[Event]:
        async with driver.reading(engine) as conn:
            return await log.read_after(conn, after, limit=limit, upto=upto)

    return read_log


def newest_reader(engine: AsyncEngine) -> Lookup:
    async def newest_position() -> int:
        async with driver.reading(engine) as conn:
            return await log.newest_position(conn)

    return newest_position


def replay_over(engine: AsyncEngine, hub: Hub, *, concurrency: int, stream: EdgeFeed | None = None) -> Replay:
    """Catch-up for resuming connections, reading the log through `engine`'s pool; on an edge
    (`stream`), from the broker's stream first while it holds every event asked for."""
    from_log = log_reader(engine)

    async def read_log(after: int, upto: int, limit: int) -> list[Event]:
        if stream is not None:
            held = await stream.replay(after, upto, limit)
            if held is not None:
                return held
        return await from_log(after, upto, limit)

    async def purged_through() -> int:
        async with engine.connect() as conn:
            return await retention.purged_through(conn)

    return Replay(
        hub, read_log, purged_through=purged_through, newest_position=newest_reader(engine), concurrency=concurrency
    )


def runtime_of(connection: HTTPConnection) -> Runtime:
    """The process's runtime, from a request or a socket."""
    runtime: Runtime = connection.app.state.runtime
    return runtime
