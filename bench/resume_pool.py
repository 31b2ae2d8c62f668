"""A child process holding many subscribers that resume (used by bench.reconnect_wave).

    python -m bench.resume_pool FIRST_WS_URL SECOND_WS_URL COUNT TOKEN RECONNECT_DELAY

Each subscriber connects to the first server, records the `id` of every event
it receives, and when that server closes it (or the connection is lost)
reconnects to the second with `?last_event_id=<last id>`, as a dashboard
does. Over the second connection every event must be the next position after
the last one (the log's positions are dense in the benchmark: the parent
checks), so a gap, a repeat or a reorder is counted. A close with 1013 (resume
again) makes it resume again. Like bench.subscriber_pool it is a bare asyncio
protocol: it reads each event's `id` from the first bytes of the frame
(`{"id":N,...`, as the service writes it) instead of parsing JSON.

Commands on stdin, one line each, answered on stdout:
- `wait POSITION TIMEOUT`: until every subscriber has received POSITION; a JSON report.
- `resumed POSITION TIMEOUT`: until every subscriber, reconnected to the second
  server, has recorded POSITION; a JSON report.
- `freeze`: stop recording events (what a busy tab does): the resume then
  starts from the last recorded id. Answered `frozen`.
- `fresh TIMEOUT`: close every socket and open it again on the second server
  without resuming, all at once; a JSON report with the time to the last confirmation.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import re
import sys
import time
from typing import Any, cast
from urllib.parse import urlsplit

import uvloop

from bench.subscriber_pool import upgrade_request
from bench.ws_frames import next_frame

_ID = re.compile(rb'\{"id":(\d+)')
_COMPLETE = b'"complete":true'
_CONNECT_CONCURRENCY = 64
_RESUME_AGAIN = 1013

_OP_TEXT, _OP_CLOSE, _OP_PING = 1, 8, 9


class Shared:
    """What every subscriber of this process shares: the servers, the gate, the counts."""

    def __init__(self, first: str, second: str, token: str, delay: float) -> None:
        self.first, self.second, self.token, self.delay = first, second, token, delay
        self.gate = asyncio.Semaphore(_CONNECT_CONCURRENCY)
        self.frozen = False
        self.changed = asyncio.Event()
        self.close_codes: dict[int, int] = {}
        self.failed_connects = 0

    def poke(self) -> None:
        self.changed.set()


class Subscriber(asyncio.Protocol):
    def __init__(self, shared: Shared) -> None:
        self.shared = shared
        self.transport: asyncio.Transport | None = None
        self.buffer = bytearray()
        self.upgraded = False
        self.confirmed_ns = 0
        # On the second server: whether it said the resume is complete.
        self.resumed: bool | None = None
        self.on_second = False
        self.resume = True
        self.last = 0  # the last id recorded
        self.seen = 0  # the newest id received, recorded or not
        self.gaps = 0
        self.repeats = 0
        self.events = 0
        self.last_arrival_ns = 0
        self.closed_ns = 0
        self.stopping = False
        self.attempts = 0
        self.confirmed_event = asyncio.Event()

    async def connect(self, second: bool) -> None:
        shared = self.shared
        base = shared.second if second else shared.first
        url = f"{base}?last_event_id={self.last}" if second and self.resume else base
        parts = urlsplit(base)
        loop = asyncio.get_running_loop()
        self.buffer, self.upgraded, self.on_second = bytearray(), False, second
        self.confirmed_event = asyncio.Event()
        if second:
            self.confirmed_ns, self.seen = 0, self.last
        async with shared.gate:
            try:
                await loop.create_connection(lambda: self._with(url), parts.hostname or "127.0.0.1", parts.port or 80)
            except OSError:
                shared.failed_connects += 1
                loop.call_later(0.1, self._reconnect)
                return
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self.confirmed_event.wait(), 60)

    def _with(self, url: str) -> Subscriber:
        self._request = upgrade_request(url, self.shared.token)
        return self

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = cast(asyncio.Transport, transport)
        self.transport.write(self._request)

    def connection_lost(self, _exc: Exception | None) -> None:
        self.transport = None
        self.confirmed_event.set()
        if self.stopping:
            return
        self.closed_ns = self.closed_ns or time.monotonic_ns()
        self.attempts += 1
        # The first reconnection after RECONNECT_DELAY, as a wave; a retry a little later each time.
        asyncio.get_running_loop().call_later(self.shared.delay + 0.1 * (self.attempts - 1), self._reconnect)

    def _reconnect(self) -> None:
        if not self.stopping:
            # After the first server went away every (re)connection goes to the second.
            asyncio.get_running_loop().create_task(self.connect(second=True))

    def data_received(self, data: bytes) -> None:
        self.buffer += data
        if not self.upgraded:
            end = self.buffer.find(b"\r\n\r\n")
            if end < 0:
                return
            if not self.buffer.startswith(b"HTTP/1.1 101"):
                self.shared.failed_connects += 1
                assert self.transport is not None
                self.transport.close()
                return
            self.upgraded = True
            del self.buffer[: end + 4]
        self._frames()

    def _frames(self) -> None:
        buf, pos = self.buffer, 0
        while (frame := next_frame(buf, pos)) is not None:
            opcode, start, end = frame
            if opcode == _OP_TEXT:
                self._message(buf, start, end)
            elif opcode == _OP_PING:
                self._pong(bytes(buf[start:end]))
            elif opcode == _OP_CLOSE:
                code = int.from_bytes(buf[start : start + 2], "big") if end - start >= 2 else 1005
                self.shared.close_codes[code] = self.shared.close_codes.get(code, 0) + 1
                assert self.transport is not None
                self.transport.close()
                break
            pos = end
        del buf[:pos]

    def _message(self, buf: bytearray, start: int, end: int) -> None:
        match = _ID.match(buf, start, end)
        if match is None:
            if not self.confirmed_ns:
                self.confirmed_ns = time.monotonic_ns()
                if self.on_second and self.resume:
                    self.resumed = buf.find(_COMPLETE, start, end) >= 0
                self.confirmed_event.set()
            return
        position = int(match[1])
        self.seen = max(self.seen, position)
        if self.shared.frozen and not self.on_second:
            return
        if self.on_second and self.resume:
            if position <= self.last:
                self.repeats += 1
                return
            if position != self.last + 1:
                self.gaps += 1
        self.last = position
        self.events += 1
        self.last_arrival_ns = time.monotonic_ns()
        self.shared.poke()

    def _pong(self, payload: bytes) -> None:
        mask = b"\x00\x00\x00\x00"  # a zero mask: the payload goes as it is
        assert self.transport is not None
        self.transport.write(bytes([0x8A, 0x80 | len(payload)]) + mask + payload)


def _reached(subscribers: list[Subscriber], position: int, resumed: bool) -> bool:
    if resumed:
        return all(s.on_second and s.last >= position for s in subscribers)
    return all(s.seen >= position for s in subscribers)


async def _until(shared: Shared, subscribers: list[Subscriber], position: int, resumed: bool, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while not _reached(subscribers, position, resumed) and time.monotonic() < deadline:
        shared.changed.clear()
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(shared.changed.wait(), 0.05)


def _report(subscribers: list[Subscriber], shared: Shared, position: int) -> dict[str, Any]:
    on_second = [s for s in subscribers if s.on_second]
    return {
        "caught_up": sum(1 for s in subscribers if s.last >= position),
        "on_second": len(on_second),
        "resumed_complete": sum(1 for s in on_second if s.resumed),
        "gaps": sum(s.gaps for s in subscribers),
        "repeats": sum(s.repeats for s in subscribers),
        "last_arrival_ns": max((s.last_arrival_ns for s in subscribers), default=0),
        "first_close_ns": min((s.closed_ns for s in subscribers if s.closed_ns), default=0),
        "last_confirmed_ns": max((s.confirmed_ns for s in subscribers), default=0),
        "close_codes": shared.close_codes,
        "failed_connects": shared.failed_connects,
    }


async def _fresh(subscribers: list[Subscriber], shared: Shared, timeout: float) -> dict[str, Any]:
    """The baseline: as many new subscribers connecting to the second server at once, without resuming."""
    _stop(subscribers)
    fresh = [Subscriber(shared) for _ in subscribers]
    for s in fresh:
        s.resume = False
    started = time.monotonic_ns()
    await asyncio.wait_for(asyncio.gather(*(s.connect(second=True) for s in fresh)), timeout)
    confirmed = [s.confirmed_ns for s in fresh if s.confirmed_ns]
    _stop(fresh)
    return {"started_ns": started, "confirmed": len(confirmed), "last_confirmed_ns": max(confirmed, default=0)}


def _stop(subscribers: list[Subscriber]) -> None:
    for s in subscribers:
        s.stopping = True
        if s.transport is not None:
            s.transport.close()


async def main(first: str, second: str, count: int, token: str, delay: float) -> None:
    shared = Shared(first, second, token, delay)
    subscribers = [Subscriber(shared) for _ in range(count)]
    await asyncio.gather(*(s.connect(second=False) for s in subscribers))
    if not all(s.confirmed_ns for s in subscribers):
        print(f"failed: {sum(not s.confirmed_ns for s in subscribers)} not confirmed", flush=True)
        return
    for s in subscribers:
        s.confirmed_ns = 0  # from now on: the confirmation of the next connection
    print("ready", flush=True)
    loop = asyncio.get_running_loop()
    while line := await loop.run_in_executor(None, sys.stdin.readline):
        command, *rest = line.split()
        if command == "freeze":
            shared.frozen = True
            print("frozen", flush=True)
        elif command in ("wait", "resumed"):
            position, timeout = int(rest[0]), float(rest[1])
            await _until(shared, subscribers, position, command == "resumed", timeout)
            print(json.dumps(_report(subscribers, shared, position)), flush=True)
        elif command == "fresh":
            print(json.dumps(await _fresh(subscribers, shared, float(rest[0]))), flush=True)
    _stop(subscribers)


if __name__ == "__main__":
    uvloop.run(main(sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4], float(sys.argv[5])))
