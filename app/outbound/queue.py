"""Outbound calls (today: SNS subscription confirmations), made by a few workers
from a bounded queue, after the delivery that asked for them has committed.

A request handler never awaits the network while it holds a database
connection: 25 confirmations against an unreachable host once held the whole
pool for their 10 s timeout, and REST, webhooks and /readyz answered 503. Here
a handler only takes a slot (`reserve`, refused with 429 when every slot is
taken, so the queue and what it holds stay bounded) and, once its transaction
has committed, hands the call over. A call that fails is tried again later, as
the sender itself would have retried an error answer (SNS: three retries, 20 s
apart); the last failure is handed to the call's `failed`, then logged.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass, field

from app.errors import RateLimited

_log = logging.getLogger(__name__)

CAPACITY = 100
WORKERS = 4
ATTEMPTS = 4
RETRY_DELAY_SECONDS = 20.0


class CallFailed(Exception):
    """An outbound call did not succeed; the message says why, safe to log and store."""


@dataclass(frozen=True, slots=True)
class OutboundCall:
    # What the call is, for answers and log lines ("sns subscription confirmation").
    what: str
    # Raises CallFailed.
    run: Callable[[], Awaitable[None]]
    # Told the reason once the last attempt has failed (to mark the delivery, say).
    failed: Callable[[str], Awaitable[None]] | None = None


@dataclass(slots=True)
class _Queued:
    call: OutboundCall
    attempts: int = 0


@dataclass(slots=True)
class Slot:
    """A reserved place in the queue: `submit` fills it; leaving the block unfilled frees it."""

    _queue: OutboundCalls
    submitted: bool = False

    def submit(self, call: OutboundCall) -> None:
        self.submitted = True
        self._queue._put(_Queued(call))


@dataclass(slots=True)
class OutboundCalls:
    capacity: int = CAPACITY
    workers: int = WORKERS
    retry_delay: float = RETRY_DELAY_SECONDS
    # Calls reserved, queued, running or waiting to be retried: never above `capacity`.
    held: int = 0
    _queue: asyncio.Queue[_Queued] = field(default_factory=asyncio.Queue)
    _tasks: list[asyncio.Task[None]] = field(default_factory=list)
    _retries: set[asyncio.TimerHandle] = field(default_factory=set)

    def start(self) -> None:
        self._tasks = [asyncio.create_task(self._work(), name=f"outbound-{n}") for n in range(self.workers)]

    async def stop(self) -> None:
        for handle in self._retries:
            handle.cancel()
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        if self.held:
            _log.warning("stopped with %d outbound call(s) not made", self.held)

    @contextlib.contextmanager
    def reserve(self) -> Iterator[Slot]:
        """A slot for one call, or RateLimited when all are taken."""
        if self.held >= self.capacity:
            raise RateLimited(
                f"{self.held} outbound calls are waiting to be made; retry later", retry_after=self.retry_delay
            )
        self.held += 1
        slot = Slot(self)
        try:
            yield slot
        finally:
            if not slot.submitted:
                self.held -= 1

    def _put(self, queued: _Queued) -> None:
        self._queue.put_nowait(queued)

    async def _work(self) -> None:
        while True:
            queued = await self._queue.get()
            queued.attempts += 1
            try:
                await queued.call.run()
            except CallFailed as exc:
                await self._after_failure(queued, str(exc))
            except Exception:  # noqa: BLE001 - one broken call must not stop the worker
                _log.exception("%s failed unexpectedly", queued.call.what)
                await self._after_failure(queued, "unexpected error")
            else:
                self.held -= 1

    async def _after_failure(self, queued: _Queued, reason: str) -> None:
        if queued.attempts < ATTEMPTS:
            _log.warning("%s failed (%s); trying again in %gs", queued.call.what, reason, self.retry_delay)
            self._retry_later(queued)
            return
        self.held -= 1
        if queued.call.failed is not None:
            try:
                await queued.call.failed(reason)
            except Exception:  # noqa: BLE001 - the error line below says what matters
                _log.exception("could not record that %s failed", queued.call.what)
        _log.error("%s failed %d times, giving up: %s", queued.call.what, queued.attempts, reason)

    def _retry_later(self, queued: _Queued) -> None:
        def again() -> None:
            self._retries.discard(handle)
            self._put(queued)

        handle = asyncio.get_running_loop().call_later(self.retry_delay, again)
        self._retries.add(handle)
