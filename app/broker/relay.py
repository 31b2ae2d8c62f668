"""The relay: reads the event log once for the whole fleet and publishes it to the broker.

Every relay bids for one advisory lock (app/leadership.py, RELAY_KEY); the one
that holds it runs the process's usual listener (LISTEN doorbell, read after
the last position), whose reads go to a `Publisher` instead of a hub. A relay
that takes over starts from the stream's newest entry: what its predecessor
published is not published again, and whatever it published just before dying
that the new one publishes as well is refused by Redis (entry ids must grow).
So nothing is lost and nothing doubled. The standbys hold one blocked
connection each and read nothing.

A broker that does not answer is the publisher's business alone: it holds the
position it has published up to and tries the same events again, with a
bounded backoff, until the broker takes them. The listener meanwhile keeps its
PostgreSQL connection and its LISTEN (it waits in `publish`, as it would on a
slow hub), and reads on from the held position once publishing returns. An
entry the broker took just before the failure is refused when tried again (ids
must grow), and a broker restarted empty gets the events again with their
`prev`, from which edges fill what it lost. /readyz and
`ops_bridge_broker_connected` say the broker is down meanwhile.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Sequence

from redis.exceptions import RedisError, ResponseError

from app.broker import stream
from app.db.lock_keys import RELAY_KEY
from app.fanout.frames import Event
from app.fanout.listener import Listener
from app.leadership import Leadership
from app.observability import metrics

_log = logging.getLogger(__name__)


# Between tries of a batch the broker did not take: quick at first (a broker restart takes a
# moment), never longer than this, so the relay publishes within a second or two of its return.
_RETRY_MIN = 0.05
_RETRY_MAX = 2.0


class BrokerUnavailable(OSError):
    """The broker did not take a batch: the publisher tries it again (the listener never sees this)."""


class Publisher:
    """Where the active relay's listener hands what it reads: the broker's stream.

    `publish` returns once the broker holds every event handed to it, however long
    that takes; cancel it (the relay does, when its leadership ends) to give up."""

    def __init__(self, client: stream.Client, name: str, *, max_events: int) -> None:
        self._client = client
        self._stream = name
        self._max_events = max_events
        self._position: int | None = None
        self.published_at = 0.0
        self.newest_created_at = 0.0
        # Why the broker did not take the last try, while the publisher is trying again; else None.
        self.unreachable: str | None = None
        self._reachability = asyncio.Condition()

    @property
    def started(self) -> bool:
        return self._position is not None

    @property
    def position(self) -> int:
        if self._position is None:
            raise RuntimeError("the publisher has not been given its starting position yet")
        return self._position

    @property
    def recent_capacity(self) -> int:
        # The listener warms a hub's ring of recent events from the log at start; a publisher keeps
        # none, and one row is the least such a read may ask for.
        return 1

    def start_at(self, position: int, recent: Sequence[Event] = (), *, holds_after: int | None = None) -> None:
        del recent, holds_after  # a hub's ring, which a publisher does not keep
        self._position = position

    async def wait_reachable(self, reachable: bool = True) -> None:
        """Return once the broker took the last try (`reachable`), or refused it (not)."""
        async with self._reachability:
            await self._reachability.wait_for(lambda: (self.unreachable is None) == reachable)

    async def publish(self, events: Sequence[Event]) -> None:
        fresh = [event for event in events if event.position > self.position]
        if not fresh:
            return
        backoff = _RETRY_MIN
        while True:
            try:
                await self._add(fresh)
            except BrokerUnavailable as exc:
                await self._refused(exc)
                await asyncio.sleep(backoff)
                backoff = min(backoff * 2, _RETRY_MAX)
                continue
            await self._taken(len(fresh))
            return

    async def _add(self, fresh: Sequence[Event]) -> None:
        """One try: the events after the held position, in one round trip; the position moves only
        when the broker took (or already held) every one of them."""
        prev = self.position
        pipe = self._client.pipeline(transaction=False)
        for event in fresh:
            pipe.xadd(
                self._stream,
                stream.fields_of(event, prev),  # type: ignore[arg-type]
                id=stream.entry_id(event.position),
                maxlen=self._max_events,
                approximate=True,
            )
            prev = event.position
        try:
            results = await pipe.execute(raise_on_error=False)
        except (RedisError, OSError) as exc:
            raise BrokerUnavailable(f"the broker refused the relay's batch: {exc}") from exc
        self._account(results)
        self._position = prev
        self.published_at = time.monotonic()
        self.newest_created_at = fresh[-1].created_at

    def _account(self, results: list[object]) -> None:
        for result in results:
            if isinstance(result, ResponseError) and "equal or smaller" in str(result):
                metrics.BROKER_REFUSED.inc()  # already there: a predecessor (or our own last try) published it
            elif isinstance(result, Exception):
                raise BrokerUnavailable(f"the broker refused an event: {result}")
            else:
                metrics.BROKER_PUBLISHED.inc()

    async def _refused(self, exc: BrokerUnavailable) -> None:
        if self.unreachable is None:
            _log.warning(
                "the relay cannot publish to the broker (%s): holding position %d and trying again; "
                "the LISTEN connection is kept",
                exc,
                self.position,
            )
        metrics.BROKER_CONNECTED.set(0)
        async with self._reachability:
            self.unreachable = stream.failure(exc)
            self._reachability.notify_all()

    async def _taken(self, count: int) -> None:
        metrics.BROKER_CONNECTED.set(1)
        if self.unreachable is None:
            return
        _log.info("the broker answers again: the relay published %d held events, up to %d", count, self.position)
        async with self._reachability:
            self.unreachable = None
            self._reachability.notify_all()


class Relay:
    """Bids for the relay's lock for as long as `run()` runs; while it holds it, publishes."""

    def __init__(
        self, *, listen_url: str, broker_url: str, stream_name: str, max_events: int, poll_interval: float
    ) -> None:
        self._listen_url = listen_url
        self._broker_url = broker_url
        self._stream = stream_name
        self._max_events = max_events
        self._poll_interval = poll_interval
        self.leadership = Leadership(listen_url, key=RELAY_KEY, duty="relay")
        self.listener: Listener | None = None
        self.publisher: Publisher | None = None
        self.terms = 0
        self._in_term = asyncio.Event()

    @property
    def leading(self) -> bool:
        return self.leadership.leading

    async def wait_publishing(self) -> Publisher:
        """The publisher, once this relay leads and its listener reads the log."""
        while True:
            await self._in_term.wait()
            listener, publisher = self.listener, self.publisher
            if listener is not None and publisher is not None:
                await listener.wait_ready()
                return publisher

    async def run(self) -> None:
        bidding = asyncio.create_task(self.leadership.run(), name="relay-leadership")
        try:
            while True:
                await self.leadership.wait_leading()
                await self._term()
        finally:
            bidding.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await bidding

    async def _term(self) -> None:
        """Publish until leadership is lost (or the broker cannot be read at the start)."""
        client = stream.connect(self._broker_url)
        try:
            try:
                start = await stream.last_position(client, self._stream)
            except RedisError as exc:
                metrics.BROKER_CONNECTED.set(0)
                _log.warning("the relay cannot read the broker's stream: %s; trying again", exc)
                await asyncio.sleep(1.0)  # the lock is held meanwhile; the standbys need not move
                return
            metrics.BROKER_CONNECTED.set(1)
            self.terms += 1
            self.publisher = Publisher(client, self._stream, max_events=self._max_events)
            if start is not None:
                self.publisher.start_at(start)  # else the listener starts at the log's newest position
            _log.info("relay active from position %s", start if start is not None else "(the log's newest)")
            self.listener = Listener(self._listen_url, self.publisher, poll_interval=self._poll_interval)
            self._in_term.set()
            await self._publish_while_leading(self.listener)
        finally:
            self._in_term.clear()
            metrics.BROKER_CONNECTED.set(0)
            await client.aclose()

    async def _publish_while_leading(self, listener: Listener) -> None:
        publishing = asyncio.create_task(listener.run(), name="relay-listener")
        following = asyncio.create_task(self.leadership.wait_following())
        try:
            await asyncio.wait({publishing, following}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for task in (publishing, following):
                task.cancel()
            await asyncio.gather(publishing, following, return_exceptions=True)
