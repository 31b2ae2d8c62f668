"""An edge's feed against a real Redis: what it hands the hub, what it serves a resume
from, and what it tells subscribers when the broker goes away. The log is a list here
(the edge's one other source, read only for gaps); the hub and Redis are real."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

import pytest

from app.auth.principal import Principal
from app.broker import stream
from app.broker.edge_feed import BROKER_LOST_CLOSE, EdgeFeed
from app.broker.relay import Publisher
from app.fanout.frames import Event
from app.fanout.hub import Hub, Subscriber
from tests.support.redis import RedisServer

STREAM = "events"


@dataclass
class Sink:
    frames: list[bytes] = field(default_factory=list)
    closed_with: int | None = None
    gone: asyncio.Event = field(default_factory=asyncio.Event)
    arrived: asyncio.Condition = field(default_factory=asyncio.Condition)

    def write(self, frame: bytes) -> None:
        self.frames.append(frame)

    def buffered(self) -> int:
        return 0

    def close(self, code: int, _reason: str) -> None:
        self.closed_with = code
        self.gone.set()

    @property
    def closed(self) -> bool:
        return self.closed_with is not None

    @property
    def deflate(self) -> bool:
        return False

    def positions(self) -> list[int]:
        # A batch is written as one buffer of frames: each frame's payload starts with its id.
        return [int(part.split(b",")[0]) for frame in self.frames for part in frame.split(b'{"id":')[1:]]


def _event(position: int) -> Event:
    return Event.from_row(position, "incident", "ops", None, None, '{"n":1}')


LOG = [_event(position) for position in range(1, 11)]


async def _read_log(after: int, upto: int, limit: int) -> list[Event]:
    return [event for event in LOG if after < event.position <= upto][:limit]


async def _newest() -> int:
    return 0


def _subscriber(hub: Hub) -> tuple[Subscriber, Sink]:
    principal = Principal(
        sub="u", email=None, squads=None, environments=None, roles=frozenset({"viewer"}),
        expires_at=datetime.now(UTC) + timedelta(hours=1),
    )  # fmt: skip
    sink = Sink()
    subscriber = Subscriber(principal=principal, sink=sink, cursor=hub.position)
    assert hub.go_live(subscriber)
    return subscriber, sink


async def _publish(redis: RedisServer, start: int, events: list[Event]) -> None:
    client = stream.connect(redis.url)
    try:
        publisher = Publisher(client, STREAM, max_events=1000)
        publisher.start_at(start)
        await publisher.publish(events)
    finally:
        await client.aclose()


@contextlib.asynccontextmanager
async def _following(feed: EdgeFeed) -> AsyncIterator[None]:
    task = asyncio.create_task(feed.run())
    try:
        async with asyncio.timeout(10):
            await feed.wait_ready()
        yield
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task


@pytest.fixture
def hub() -> Hub:
    started = Hub(max_buffered_bytes=1 << 20)
    started.start_at(2)
    return started


def _feed(redis: RedisServer, hub: Hub) -> EdgeFeed:
    return EdgeFeed(redis.url, STREAM, hub, read_log=_read_log, newest_position=_newest)


async def test_a_stream_that_begins_after_the_hub_is_preceded_by_the_log(redis: RedisServer, hub: Hub) -> None:
    # The broker restarted: its stream begins at 5 (after 4); the hub has handed out up to 2.
    await _publish(redis, 4, LOG[4:6])
    _, sink = _subscriber(hub)

    async with _following(_feed(redis, hub)):
        async with asyncio.timeout(10):
            await hub.wait_beyond(6)

    assert sink.positions() == [3, 4, 5, 6]


async def test_a_resume_is_served_from_the_stream_only_when_it_holds_every_event_after_it(
    redis: RedisServer, hub: Hub
) -> None:
    await _publish(redis, 4, LOG[4:8])  # 5..8, after 4
    feed = _feed(redis, hub)

    async with _following(feed):
        await hub.wait_beyond(8)
        inside = await feed.replay(5, 8, 100)
        from_its_start = await feed.replay(4, 8, 100)
        before_its_start = await feed.replay(3, 8, 100)
        paged = await feed.replay(4, 8, 2)

    assert [e.position for e in inside or []] == [6, 7, 8]
    assert [e.position for e in from_its_start or []] == [5, 6, 7, 8]
    assert before_its_start is None  # 4 is not in the stream: the log serves it
    assert [e.position for e in paged or []] == [5, 6]


async def test_subscribers_are_told_to_resume_when_the_broker_goes_away(redis: RedisServer, hub: Hub) -> None:
    feed = _feed(redis, hub)
    _, sink = _subscriber(hub)

    async with _following(feed):
        await asyncio.to_thread(redis.stop)
        async with asyncio.timeout(10):
            await sink.gone.wait()
        assert not feed.ready

    assert sink.closed_with == BROKER_LOST_CLOSE == 1013


class _GatedHub(Hub):
    """A real hub whose fan-outs wait for the test's word: a hub busy with a batch, held busy."""

    def __init__(self) -> None:
        super().__init__(max_buffered_bytes=1 << 20)
        self.gate = asyncio.Event()
        self.busy = asyncio.Event()

    async def publish(self, events: Sequence[Event]) -> None:
        self.busy.set()
        await self.gate.wait()
        await super().publish(events)


async def test_the_next_read_waits_on_the_broker_while_the_hub_fans_a_batch_out(redis: RedisServer) -> None:
    hub = _GatedHub()
    hub.start_at(2)
    _, sink = _subscriber(hub)

    async with _following(_feed(redis, hub)):
        await _publish(redis, 2, LOG[2:3])
        async with asyncio.timeout(10):
            await hub.busy.wait()  # event 3 is being fanned out, and stays so
            blocked = await _blocked_reads(redis)
        await _publish(redis, 3, LOG[3:4])
        hub.gate.set()
        async with asyncio.timeout(10):
            await hub.wait_beyond(3)

    assert blocked == 1  # asked for what follows 3 before 3 reached the sockets
    assert sink.positions() == [3, 4]


async def _blocked_reads(redis: RedisServer) -> int:
    """Clients of `redis` blocked in XREAD, once there is one (or 0 after a second)."""
    with redis.client() as client:
        for _ in range(50):
            found = sum(1 for c in client.client_list() if c["cmd"] == "xread" and "b" in c["flags"])
            if found:
                return found
            await asyncio.sleep(0.02)  # Redis's state, another process's: asked, not awaited
    return 0
