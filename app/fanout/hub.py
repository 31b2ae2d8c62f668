"""Fan-out inside one process: events in position order, to every subscriber
that may see them and asked for them.

The hub never awaits a socket. Each event arrives framed once; delivering it is
writing those same bytes to a connection's transport. What a connection has
not yet taken stays in its transport's write buffer, and that buffer is the
connection's bounded queue: the transport itself (app/ws/transport.py) closes
a connection past `WS_MAX_BUFFERED_BYTES` with `SLOW_CONSUMER`, whatever was
written, and the client resumes from its last id; so one slow reader never
holds up the others and nobody is silently skipped.

A subscriber is either live (the hub writes to it as events are published) or
catching up (its session reads from the hub's recent-events ring or the log
until it reaches the hub's position, then goes live in the same step, with no
await in between, so nothing falls in the seam).
"""

from __future__ import annotations

import asyncio
import itertools
import time
from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Protocol

from app.auth.principal import Principal
from app.fanout.frames import Event
from app.observability import metrics

# Deliver in slices so webhooks and pings are served between them.
_SLICE_SECONDS = 0.005


class LiveFeedLost(Exception):
    """The feed that brings this process its live events is lost (an edge that cannot reach the
    broker): nobody may go live, or wait to, until it is back. Subscribers are told to resume."""

    def __init__(self, code: int, reason: str) -> None:
        super().__init__(reason)
        self.code = code
        self.reason = reason


class Sink(Protocol):
    """Where a subscriber's frames go: its connection's transport, which closes itself
    when a write leaves too much unsent."""

    def write(self, frame: bytes) -> None: ...

    def buffered(self) -> int: ...

    def close(self, code: int, reason: str) -> None: ...

    @property
    def closed(self) -> bool: ...

    @property
    def deflate(self) -> bool: ...


@dataclass(frozen=True, slots=True)
class TopicFilter:
    """Narrows one topic; a dimension the event does not carry is not filtered on."""

    squads: frozenset[str] | None = None
    environments: frozenset[str] | None = None

    def passes(self, event: Event) -> bool:
        if self.squads is not None and event.squad is not None and event.squad not in self.squads:
            return False
        return not (
            self.environments is not None
            and event.environment is not None
            and event.environment not in self.environments
        )


_ids = itertools.count(1)

# Subscribers alike in everything that decides what they receive share a
# profile: what a profile receives is decided once per event, not per socket.
Profile = tuple[bool, frozenset[str] | None, frozenset[str] | None, frozenset[tuple[str, TopicFilter]] | None, bool]


@dataclass(eq=False, slots=True)
class Subscriber:
    principal: Principal
    sink: Sink
    # None: every topic, unfiltered (a client that never subscribed).
    topics: dict[str, TopicFilter] | None = None
    # Every event up to here has been offered (sent, or filtered out).
    cursor: int = 0
    live: bool = False
    delivered: int = 0
    id: int = field(default_factory=lambda: next(_ids))
    profile: Profile | None = None

    def wants(self, event: Event) -> bool:
        if self.topics is None:
            selected = True
        else:
            topic_filter = self.topics.get(event.topic)
            selected = topic_filter is not None and topic_filter.passes(event)
        return selected and self.principal.may_see(event.squad, event.environment, event.audience)

    def current_profile(self) -> Profile:
        p = self.principal
        topics = None if self.topics is None else frozenset(self.topics.items())
        return (p.is_admin, p.squads, p.environments, topics, self.sink.deflate)


class Hub:
    def __init__(self, *, max_buffered_bytes: int, recent_capacity: int = 4096) -> None:
        # Catch-up paces itself by it (app/ws/session.py); the transport enforces it.
        self.max_buffered_bytes = max_buffered_bytes
        self._position: int | None = None
        self._groups: dict[Profile, set[Subscriber]] = {}
        self._live_count = 0
        self._recent: deque[Event] = deque(maxlen=recent_capacity)
        # Every event after this position is in `_recent`.
        self._recent_floor = 0
        self._advanced = asyncio.Event()
        self._publishing = False
        self._lost: LiveFeedLost | None = None
        # Subscribers whose profile changed while a publication was under way.
        self._moved: set[Subscriber] = set()
        self.delivered = 0

    @property
    def started(self) -> bool:
        return self._position is not None

    @property
    def position(self) -> int:
        """The last position published: every live subscriber has been offered all up to it."""
        if self._position is None:
            raise RuntimeError("the hub has not been given its starting position yet")
        return self._position

    @property
    def recent_capacity(self) -> int:
        return self._recent.maxlen or 0

    def start_at(self, position: int, recent: Sequence[Event] = (), *, holds_after: int | None = None) -> None:
        """Publish what comes after `position`. `recent`: the newest events up to it,
        oldest first, which hold every event after `holds_after` (so resumes from
        there need no read of the log)."""
        self._position = position
        self._recent_floor = position if holds_after is None else holds_after
        for event in recent:
            self._remember(event)

    @property
    def subscriber_count(self) -> int:
        return self._live_count

    def go_live(self, subscriber: Subscriber) -> bool:
        """Make a caught-up subscriber live; False if it is behind, or a publication is under way.
        LiveFeedLost while the feed is lost: live, it would hear nothing."""
        if self._lost is not None:
            raise self._lost
        if self._publishing or subscriber.cursor < self.position:
            return False
        subscriber.live = True
        self._join(subscriber)
        self._live_count += 1
        return True

    def detach(self, subscriber: Subscriber) -> None:
        if subscriber.live:
            self._leave(subscriber)
            self._live_count -= 1
        subscriber.live = False

    def refresh(self, subscriber: Subscriber) -> None:
        """After a subscriber's topics or claims changed: file it under its new profile."""
        if not subscriber.live or subscriber.profile == subscriber.current_profile():
            return
        self._leave(subscriber)
        self._join(subscriber)
        if self._publishing:
            self._moved.add(subscriber)

    def _join(self, subscriber: Subscriber) -> None:
        subscriber.profile = subscriber.current_profile()
        self._groups.setdefault(subscriber.profile, set()).add(subscriber)

    def _leave(self, subscriber: Subscriber) -> None:
        assert subscriber.profile is not None
        members = self._groups.get(subscriber.profile)
        if members is not None:
            members.discard(subscriber)
            if not members:
                del self._groups[subscriber.profile]

    def position_of(self, subscriber: Subscriber) -> int:
        """The position up to which `subscriber` has been offered every event."""
        return subscriber.cursor

    def holds_after(self, position: int) -> bool:
        """Whether every event after `position` is still in memory."""
        return position >= self._recent_floor

    def recent_after(self, position: int, upto: int) -> list[Event] | None:
        """Events in (position, upto] if the ring still holds all of them, else None."""
        if not self.holds_after(position):
            return None
        # From the newest end: a resume wants the tail, and a ring of thousands
        # scanned whole for each of thousands of resuming sockets adds up.
        tail: list[Event] = []
        for event in reversed(self._recent):
            if event.position <= position:
                break
            if event.position <= upto:
                tail.append(event)
        tail.reverse()
        return tail

    async def wait_beyond(self, position: int) -> None:
        """Return once the hub has published `position` (or anything after it)."""
        while self.position < position:
            if self._lost is not None:
                raise self._lost
            await self._advanced.wait()

    async def wait_idle(self) -> None:
        """Return once no publication is under way."""
        while self._publishing:
            await self._advanced.wait()

    async def publish(self, events: Sequence[Event]) -> None:
        """Offer `events` (in position order) to every live subscriber.

        Each profile's share of the events is chosen once and joined into one
        buffer, written to each of its sockets in one call: a batch of events
        costs one write per socket, not one per event. Notifications addressed
        to users are chosen per subscriber."""
        fresh = [event for event in events if event.position > self.position]
        if not fresh:
            return
        for event in fresh:
            self._remember(event)
        last = fresh[-1].position
        personal = any(event.audience is not None for event in fresh)
        started, delivered_before = time.perf_counter(), self.delivered
        self._publishing = True
        try:
            deadline = time.monotonic() + _SLICE_SECONDS
            for profile, members in list(self._groups.items()):
                shared = None if personal or not members else _frames(next(iter(members)), fresh)
                for subscriber in list(members):
                    if subscriber.profile != profile:
                        continue  # moved to another profile meanwhile: served below
                    frames = _frames(subscriber, fresh) if personal else shared
                    self._offer(subscriber, frames, last)
                    if time.monotonic() > deadline:
                        await asyncio.sleep(0)
                        deadline = time.monotonic() + _SLICE_SECONDS
            while self._moved:
                subscriber = self._moved.pop()
                self._offer(subscriber, _frames(subscriber, fresh), last)
        finally:
            self._position = last
            self._publishing = False
            self._advanced.set()
            self._advanced = asyncio.Event()
        metrics.events_offered(fresh, self.delivered - delivered_before, time.perf_counter() - started)

    def _remember(self, event: Event) -> None:
        if len(self._recent) == self._recent.maxlen:
            self._recent_floor = self._recent[0].position
        self._recent.append(event)

    def _offer(self, subscriber: Subscriber, frames: tuple[bytes, int] | None, last: int) -> None:
        if not subscriber.live or subscriber.cursor >= last:
            return  # gone, or already served under another profile during this publication
        if frames is not None and frames[1]:
            if subscriber.sink.closed:
                self.detach(subscriber)  # closed by its transport (a slow consumer) or going away
                return
            subscriber.sink.write(frames[0])
            subscriber.delivered += frames[1]
            self.delivered += frames[1]
        subscriber.cursor = last

    def feed_lost(self, code: int, reason: str) -> None:
        """The live feed is gone: close every live subscriber with `code`, and refuse (LiveFeedLost)
        anyone catching up, now or later, until `feed_back`: never a socket left open and silent."""
        self._lost = LiveFeedLost(code, reason)
        self.close_all(code, reason)
        self._advanced.set()  # wake those waiting for events that will not come
        self._advanced = asyncio.Event()

    def feed_back(self) -> None:
        self._lost = None

    def close_all(self, code: int, reason: str) -> None:
        for members in list(self._groups.values()):
            for subscriber in list(members):
                self.detach(subscriber)
                subscriber.sink.close(code, reason)


def _frames(subscriber: Subscriber, events: Sequence[Event]) -> tuple[bytes, int]:
    """The frames of `events` that `subscriber` wants, joined, and how many."""
    deflate = subscriber.sink.deflate
    wanted = [event.frame_for(deflate) for event in events if subscriber.wants(event)]
    return b"".join(wanted), len(wanted)
