"""An edge's feed: live events from the broker's stream into the hub, in the listener's place.

The feed reads the stream after the last position it read (XREAD BLOCK) and
publishes what it reads, as the listener does with the log; the next read is
already waiting on the broker while the hub fans a batch out, so an event that
arrives meanwhile costs no round trip once the hub is free. It never
LISTENs and never reads the log for live events, so an edge costs PostgreSQL
nothing while the broker serves. Two exceptions, both counted
(`ops_bridge_event_log_reads{reader="edge_gap"}`): an entry whose `prev` lies
beyond the hub's position (the broker restarted and lost the stream) makes the
feed read the span between from the log before going on; and the hub's starting
position, when the stream is empty, is the log's newest.

When the broker is lost, the feed closes its subscribers with 1013 ("resume again"):
they reconnect with `last_event_id` (to any edge) rather than wait on a
connection that receives nothing; until the broker answers again the edge
refuses new sockets with 503 and /readyz says why.

A resume whose position the stream still holds is served from it (XRANGE); an
older one, or one the stream cannot prove it holds whole, from PostgreSQL.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable

from redis.exceptions import RedisError

from app.broker import stream
from app.fanout.frames import Event
from app.fanout.hub import Hub
from app.observability import metrics

_log = logging.getLogger(__name__)

_BATCH = 1000
_BLOCK_MS = 1000
_GAP_PAGE = 1000
_MIN_BACKOFF = 0.1
_MAX_BACKOFF = 5.0

# The service's "resume again" close code (RESUME_AGAIN, app/ws/session.py; docs/protocol.md):
# reconnect, after a short randomized delay, with last_event_id; nothing is lost.
BROKER_LOST_CLOSE = 1013

ReadLog = Callable[[int, int, int], Awaitable[list[Event]]]
NewestPosition = Callable[[], Awaitable[int]]


class EdgeFeed:
    def __init__(
        self, broker_url: str, stream_name: str, hub: Hub, *, read_log: ReadLog, newest_position: NewestPosition
    ) -> None:
        self._url = broker_url
        self._stream = stream_name
        self._hub = hub
        self._read_log = read_log
        self._newest_position = newest_position
        self._connected = asyncio.Event()
        self._client: stream.Client | None = None
        self.reconnects = 0
        self.last_read_at = 0.0
        self.lost_reason = ""

    @property
    def ready(self) -> bool:
        return self._connected.is_set() and self._hub.started

    async def wait_ready(self) -> None:
        await self._connected.wait()

    async def run(self) -> None:
        """Follow the stream forever, reconnecting with backoff; cancel to stop."""
        backoff = _MIN_BACKOFF
        while True:
            client = stream.connect(self._url)
            try:
                await self._follow(client)
            except (RedisError, OSError) as exc:
                self.lost_reason = stream.failure(exc)
                _log.warning("edge lost the broker: %s", exc)
            except Exception:  # noqa: BLE001
                # A bug, not an outage: say so loudly, tell the subscribers, and follow again.
                self.lost_reason = "the edge's feed failed (see the log)"
                _log.exception("edge feed failed; restarting it")
            finally:
                self._client = None
                await client.aclose()
            if self._connected.is_set():
                backoff = _MIN_BACKOFF
                self._lost()
            self.reconnects += 1
            metrics.BROKER_RECONNECTS.inc()
            await asyncio.sleep(backoff)
            backoff = min(backoff * 2, _MAX_BACKOFF)

    def _lost(self) -> None:
        self._connected.clear()
        metrics.BROKER_CONNECTED.set(0)
        # Never silent: a subscriber told to resume goes to an edge that hears the broker.
        self._hub.feed_lost(BROKER_LOST_CLOSE, "the event broker is unreachable from this process: resume again")

    async def _follow(self, client: stream.Client) -> None:
        await client.ping()
        if not self._hub.started:
            newest = await stream.last_position(client, self._stream)
            self._hub.start_at(newest if newest is not None else await self._newest_position())
        self._client = client
        self._hub.feed_back()
        self._connected.set()
        metrics.BROKER_CONNECTED.set(1)
        _log.info("edge following the broker from position %d", self._hub.position)
        after = self._hub.position
        reading = self._read(client, after)
        try:
            while True:
                entries = await reading
                self._stop_if_cancelled()
                self.last_read_at = time.monotonic()
                after = entries[-1].event.position if entries else after
                # The next read goes out before this batch is fanned out: what arrives meanwhile is
                # here when the hub is free, rather than a round trip to the broker after it.
                reading = self._read(client, after)
                await self._hand_over(entries)
        finally:
            reading.cancel()
            await asyncio.gather(reading, return_exceptions=True)

    def _read(self, client: stream.Client, after: int) -> asyncio.Task[list[stream.Entry]]:
        return asyncio.create_task(self._take(client, after), name="edge-feed-read")

    async def _take(self, client: stream.Client, after: int) -> list[stream.Entry]:
        entries = await stream.read_after(client, self._stream, after, count=_BATCH, block_ms=_BLOCK_MS)
        # Taken now, while the hub may still be busy with the batch before: the lag is the broker's
        # alone, and the wait for the hub shows in ops_bridge_webhook_to_socket_seconds.
        now = time.time()
        for entry in entries:
            if entry.event.created_at:
                metrics.BROKER_LAG_SECONDS.observe(max(0.0, now - entry.event.created_at))
        return entries

    @staticmethod
    def _stop_if_cancelled() -> None:
        me = asyncio.current_task()
        if me is not None and me.cancelling():
            # redis-py can swallow a cancellation that lands inside a blocking read (it
            # disconnects and the read returns): stop here rather than read again.
            raise asyncio.CancelledError

    async def _hand_over(self, entries: list[stream.Entry]) -> None:
        if not entries:
            return
        if entries[0].prev > self._hub.position:
            await self._fill_gap(entries[0].prev)
        metrics.BROKER_RECEIVED.inc(len(entries))
        batch: list[Event] = []
        for entry in entries:
            if batch and entry.prev != batch[-1].position:
                await self._hub.publish(batch)  # the chain breaks inside the batch: fill before going on
                batch = []
                await self._fill_gap(entry.prev)
            batch.append(entry.event)
        await self._hub.publish(batch)

    async def _fill_gap(self, through: int) -> None:
        """Hand the hub the log's events up to `through`: the stream does not hold them."""
        _log.warning(
            "the broker's stream misses positions %d..%d; reading them from the log", self._hub.position, through
        )
        while self._hub.position < through:
            metrics.EDGE_GAP_READS.inc()
            events = await self._read_log(self._hub.position, through, _GAP_PAGE)
            if not events:
                self._hub.start_at(through)  # purged, or never there: nothing to hand over
                return
            await self._hub.publish(events)

    async def replay(self, after: int, upto: int, limit: int) -> list[Event] | None:
        """Events in (after, upto], at most `limit`, if the stream holds all of them; else None."""
        client = self._client
        if client is None:
            return None
        try:
            entries = await stream.range_after(client, self._stream, after, upto, count=limit)
        except RedisError:
            return None
        if not entries:
            return [] if after >= upto else None
        if entries[0].prev > after:
            return None  # the stream begins after `after` (trimmed, or restarted): the log has the rest
        previous = entries[0].prev
        for entry in entries:
            if entry.prev != previous:
                return None  # a gap the stream does not hold: the log has it
            previous = entry.event.position
        if len(entries) < limit and previous != upto:
            return None
        metrics.replay_read("broker")
        return [entry.event for entry in entries]

    async def behind(self) -> int | None:
        """Positions the stream holds that the hub has not been handed; None without a broker."""
        client = self._client
        if client is None or not self._hub.started:
            return None
        try:
            newest = await stream.last_position(client, self._stream)
        except RedisError:
            return None
        return max(0, (newest or 0) - self._hub.position)
