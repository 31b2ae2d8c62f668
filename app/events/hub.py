"""Fan-out inside one process: events in position order, to every subscriber
that may see them and asked for them.

The hub never awaits a socket. Each event arrives framed once; delivering it is
writing those same bytes to a connection's transport. What a connection has
not yet taken stays in its transport's write buffer, and that buffer is the
connection's bounded queue: past `max_buffered_bytes` the subscriber is closed
with `SLOW_CONSUMER` and resumes from its last id, so one slow reader never
holds up the others and nobody is silently skipped.

A subscriber is either live (the hub writes to it as events are published) or
catching up (its session reads from the hub's recent-events ring or the log
until it reaches the hub's position, then goes live in the same step, with no
await in between, so nothing falls in the seam).
"""

from __future__ import annotations

import asyncio
import itertools
import logging
import time
from collections import deque
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Protocol

from app.auth.principal import Principal
from app.events.model import Event

_log = logging.getLogger(__name__)

# Close codes (docs/protocol.md lists them).
SLOW_CONSUMER = 4008

# Deliver in slices so webhooks and pings are served between them.
_SLICE_SECONDS = 0.005


class Sink(Protocol):
    """Where a subscriber's frames go: its connection's transport."""

    def write(self, frame: bytes) -> None: ...

    def buffered(self) -> int: ...

    def close(self, code: int, reason: str) -> None: ...

    @property
    def closed(self) -> bool: ...


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


@dataclass(eq=False, slots=True)
class Subscriber:
    principal: Principal
    sink: Sink
    # None: every topic, unfiltered (a client that never subscribed).
    topics: dict[str, TopicFilter] | None = None
    cursor: int = 0
    live: bool = False
    delivered: int = 0
    id: int = field(default_factory=lambda: next(_ids))

    def wants(self, event: Event) -> bool:
        if self.topics is None:
            selected = True
        else:
            topic_filter = self.topics.get(event.topic)
            selected = topic_filter is not None and topic_filter.passes(event)
        return selected and self.principal.may_see(event.squad, event.environment, event.audience)


class Hub:
    def __init__(self, *, max_buffered_bytes: int, recent_capacity: int = 4096) -> None:
        self.max_buffered_bytes = max_buffered_bytes
        self._position: int | None = None
        self._live: set[Subscriber] = set()
        self._recent: deque[Event] = deque(maxlen=recent_capacity)
        # Every event after this position is in `_recent`.
        self._recent_floor = 0
        self._advanced = asyncio.Event()
        self.delivered = 0
        self.dropped_slow = 0

    @property
    def started(self) -> bool:
        return self._position is not None

    @property
    def position(self) -> int:
        """The last position published: every subscriber has been offered all up to it."""
        if self._position is None:
            raise RuntimeError("the hub has not been given its starting position yet")
        return self._position

    def start_at(self, position: int) -> None:
        self._position = position
        self._recent_floor = position

    @property
    def subscriber_count(self) -> int:
        return len(self._live)

    def go_live(self, subscriber: Subscriber) -> bool:
        """Make a caught-up subscriber live; False if it is still behind."""
        if subscriber.cursor < self.position:
            return False
        subscriber.live = True
        self._live.add(subscriber)
        return True

    def detach(self, subscriber: Subscriber) -> None:
        if subscriber.live:
            subscriber.cursor = self.position
        subscriber.live = False
        self._live.discard(subscriber)

    def position_of(self, subscriber: Subscriber) -> int:
        """The position up to which `subscriber` has been offered every event."""
        return self.position if subscriber.live else subscriber.cursor

    def holds_after(self, position: int) -> bool:
        """Whether every event after `position` is still in memory."""
        return position >= self._recent_floor

    def recent_after(self, position: int, upto: int) -> list[Event] | None:
        """Events in (position, upto] if the ring still holds all of them, else None."""
        if not self.holds_after(position):
            return None
        return [event for event in self._recent if position < event.position <= upto]

    async def wait_beyond(self, position: int) -> None:
        """Return once the hub has published `position` (or anything after it)."""
        while self.position < position:
            await self._advanced.wait()

    async def publish(self, events: Sequence[Event]) -> None:
        """Offer `events` (in position order) to every live subscriber."""
        deadline = time.monotonic() + _SLICE_SECONDS
        for event in events:
            if event.position <= self.position:
                continue  # already published: a catch-up read overlapping a notification
            self._offer(event)
            if time.monotonic() > deadline:
                await asyncio.sleep(0)
                deadline = time.monotonic() + _SLICE_SECONDS
        self._advanced.set()
        self._advanced = asyncio.Event()

    def _offer(self, event: Event) -> None:
        if len(self._recent) == self._recent.maxlen:
            self._recent_floor = self._recent[0].position
        self._recent.append(event)
        self._position = event.position
        overflowing = []
        for subscriber in self._live:
            if not subscriber.wants(event):
                continue
            if subscriber.sink.buffered() > self.max_buffered_bytes:
                overflowing.append(subscriber)
                continue
            subscriber.sink.write(event.frame)
            subscriber.delivered += 1
            self.delivered += 1
        for subscriber in overflowing:
            self.evict_slow(subscriber)

    def evict_slow(self, subscriber: Subscriber) -> None:
        self.detach(subscriber)
        self.dropped_slow += 1
        _log.warning("closing slow subscriber %s (%s)", subscriber.id, subscriber.principal.sub)
        subscriber.sink.close(SLOW_CONSUMER, "slow consumer: reconnect with last_event_id")

    def close_all(self, code: int, reason: str, subscribers: Iterable[Subscriber] | None = None) -> None:
        for subscriber in list(subscribers if subscribers is not None else self._live):
            self.detach(subscriber)
            subscriber.sink.close(code, reason)
