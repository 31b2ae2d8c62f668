"""Catch-up for resuming connections, shared by all of them.

After a restart or a deploy every dashboard reconnects at once, most of them
with about the same `last_event_id`. Read per connection, that wave costs a
pooled connection and a page read for each of them: the pool runs dry and the
log is scanned thousands of times for the same rows (issue 14). Here:

- the hub's ring of recent events (warmed from the log at start) serves a
  resume that falls inside it with no read at all;
- a page of the log is read once and kept a little while: every connection
  that wants a stretch it covers takes its events from it, and a connection
  that arrives while a read of its stretch is under way waits for that read
  (single flight) instead of starting its own;
- at most `concurrency` reads run at once; the others wait for a turn before
  taking a pooled connection, so a wave never holds more than that many.

A page of `(after, upto]` with `upto` at most the hub's position is complete
for good: positions become visible in commit order (app/events/log.py), and
the hub has seen `upto`. So handing one page to many readers loses nothing
and repeats nothing; each reader still filters it by what it may see.

A read that fails raises to every connection waiting for it: the session
closes each of them with a code that says "resume again" (docs/protocol.md).
"""

from __future__ import annotations

import asyncio
import bisect
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

from app.events.hub import Hub
from app.events.model import Event
from app.observability import metrics

# Reads the log: events with after < position <= upto, oldest first, at most limit.
ReadLog = Callable[[int, int, int], Awaitable[list[Event]]]
# A lookup that needs the database (the purge point, the newest position).
Lookup = Callable[[], Awaitable[int]]

PAGE_SIZE = 500
# Pages kept after their read, for connections that come a little later. At
# most this many, each at most PAGE_SIZE events: a bound on the memory they take.
_KEPT_PAGES = 8
_KEEP_SECONDS = 30.0


@dataclass(frozen=True, slots=True)
class Page:
    """Every event of the log with `after < position <= through`, oldest first."""

    after: int
    through: int
    events: list[Event]
    positions: list[int] = field(repr=False)
    read_at: float

    @classmethod
    def of(cls, after: int, upto: int, events: list[Event], limit: int) -> Page:
        # A full page may stop short of `upto`: it is complete only up to its last event.
        through = events[-1].position if len(events) >= limit else upto
        return cls(after, through, events, [event.position for event in events], time.monotonic())

    def serves(self, cursor: int) -> bool:
        return self.after <= cursor < self.through

    def slice(self, cursor: int, upto: int) -> tuple[list[Event], int]:
        """The events after `cursor` up to `upto` (or the page's end), and where that leaves the reader."""
        through = min(self.through, upto)
        start = bisect.bisect_right(self.positions, cursor)
        stop = bisect.bisect_right(self.positions, through)
        return self.events[start:stop], through


class _Flight:
    """A lookup shared by everyone who asks while it is pending.

    Only a lookup that starts after a caller asked answers it: one already
    running may have looked before what the caller knows of happened (the purge
    point may have moved since). Callers who ask while one runs share the next.
    """

    def __init__(self, lookup: Lookup, turns: asyncio.Semaphore) -> None:
        self._lookup = lookup
        self._turns = turns
        self._running: asyncio.Task[int] | None = None
        self._pending: asyncio.Task[int] | None = None

    async def value(self) -> int:
        if self._pending is None or self._pending.done():
            self._pending = asyncio.create_task(self._run_after(self._running))
            self._pending.add_done_callback(_retrieve)
        # Shielded: a caller that goes away does not cancel the others' answer.
        return await asyncio.shield(self._pending)

    async def _run_after(self, previous: asyncio.Task[int] | None) -> int:
        if previous is not None:
            await asyncio.wait([previous])
        async with self._turns:
            # Whoever asks from here on may know of something newer than this lookup sees.
            self._running, self._pending = asyncio.current_task(), None
            return await self._lookup()


class Replay:
    def __init__(
        self,
        hub: Hub,
        read_log: ReadLog,
        *,
        purged_through: Lookup,
        newest_position: Lookup,
        concurrency: int,
        page_size: int = PAGE_SIZE,
    ) -> None:
        self._hub = hub
        self._read_log = read_log
        self._page_size = page_size
        # Turns at the database: each read or lookup holds one while it holds a pooled connection.
        self._turns = asyncio.Semaphore(concurrency)
        self._pages: list[Page] = []
        # Reads under way, by the position they read after.
        self._reads: dict[int, tuple[int, asyncio.Task[Page]]] = {}
        self._purged = _Flight(purged_through, self._turns)
        self._newest = _Flight(newest_position, self._turns)

    async def purged_through(self) -> int:
        """The position up to which the log may have been purged (one lookup for all who ask meanwhile)."""
        return await self._purged.value()

    async def newest_position(self) -> int:
        """The newest position in the log (one lookup for all who ask meanwhile)."""
        return await self._newest.value()

    async def after(self, cursor: int, upto: int) -> tuple[list[Event], int]:
        """Every event with `cursor < position <= through`, oldest first, and `through`:
        at most `upto` (the hub's position, or older), and past `cursor` unless `cursor`
        already is at `upto`. Raises whatever the read raised when the log cannot be read."""
        if cursor >= upto:
            return [], cursor
        recent = self._hub.recent_after(cursor, upto)
        if recent is not None:
            metrics.replay_read("memory")
            return recent, upto
        while True:
            page = self._kept(cursor)
            if page is not None:
                metrics.replay_read("shared")
                return page.slice(cursor, upto)
            joined = self._read_under_way(cursor)
            if joined is None:
                # Counted by the read itself, which goes on if this connection goes away.
                page = await asyncio.shield(self._start_read(cursor, upto))
                return page.slice(cursor, upto)
            page = await asyncio.shield(joined)
            if page.serves(cursor):
                metrics.replay_read("shared")
                return page.slice(cursor, upto)

    def _kept(self, cursor: int) -> Page | None:
        now = time.monotonic()
        self._pages = [page for page in self._pages if now - page.read_at < _KEEP_SECONDS]
        serving = [page for page in self._pages if page.serves(cursor)]
        return max(serving, key=lambda page: page.after) if serving else None

    def _read_under_way(self, cursor: int) -> asyncio.Task[Page] | None:
        """A read under way that will likely cover `cursor`: it started at or before it, within a page
        (positions are dense but for rolled-back commits; a read that falls short is simply followed
        by another)."""
        best: tuple[int, asyncio.Task[Page]] | None = None
        for after, (upto, task) in self._reads.items():
            if after <= cursor < upto and cursor - after < self._page_size and (best is None or after > best[0]):
                best = (after, task)
        return best[1] if best is not None else None

    def _start_read(self, after: int, upto: int) -> asyncio.Task[Page]:
        task = asyncio.create_task(self._read(after, upto))
        self._reads[after] = (upto, task)

        def finished(done: asyncio.Task[Page]) -> None:
            if self._reads.get(after, (0, None))[1] is done:
                del self._reads[after]
            _retrieve(done)

        task.add_done_callback(finished)
        return task

    async def _read(self, after: int, upto: int) -> Page:
        async with self._turns:
            # While this waited for a turn another read may have brought the stretch.
            kept = self._kept(after)
            if kept is not None:
                metrics.replay_read("shared")
                return kept
            events = await self._read_log(after, upto, self._page_size)
            metrics.replay_read("database")
        page = Page.of(after, upto, events, self._page_size)
        self._keep(page)
        return page

    def _keep(self, page: Page) -> None:
        self._pages.append(page)
        if len(self._pages) > _KEPT_PAGES:
            self._pages.pop(0)


def _retrieve(task: asyncio.Task[object]) -> None:
    """Mark a shared task's failure as seen: its waiters got it, or went away."""
    if not task.cancelled():
        task.exception()
