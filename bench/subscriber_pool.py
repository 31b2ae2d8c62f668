"""A child process holding many WebSocket subscribers (used by bench.harness).

    python -m bench.subscriber_pool WS_URL COUNT TOKEN

The client is a bare asyncio protocol, not a WebSocket library: at tens of
thousands of deliveries a second on two cores a general-purpose client (the
`websockets` client spends tens of microseconds per message: a task wake-up, a
queue, UTF-8 decoding, JSON parsing) would measure itself. This one reads the
unmasked frames a server sends, answers pings (the server would otherwise drop
it after its ping timeout), and finds each benchmark message's marker,
`bench <sent_ns> <index>`, with one regular expression over the raw bytes:
about a microsecond a message. It works the same against any server, the
service, the reference or the bare `websockets` ceiling.

Protocol with the parent, one line each: it prints `ready` once every socket
has its first message (the server's confirmation: the subscriber is
registered); it reads `<expected> <timeout> <tail_start>`, waits until every
socket holds `expected` distinct benchmark messages (or the timeout passes, or
the socket is gone), and prints a JSON report: distinct messages received over
all sockets, duplicates, sockets gone, the latency histogram of the messages
that arrived since the last report (all, and those with index >= tail_start),
and the arrival time of the last one.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import json
import os
import re
import sys
import time
from typing import Any, cast
from urllib.parse import urlsplit

import uvloop

from bench.ws_frames import next_frame

MARK = re.compile(rb"bench (\d+) (\d+)")
# Latency histogram buckets: 0.1 ms.
BUCKET_NS = 100_000
_CONNECT_CONCURRENCY = 64

_OP_CONTINUATION, _OP_TEXT, _OP_BINARY, _OP_CLOSE, _OP_PING = 0, 1, 2, 8, 9


class Stats:
    """What every socket of this process shares: histograms, the last arrival, who is done."""

    def __init__(self) -> None:
        self.histogram: dict[int, int] = {}
        self.tail_histogram: dict[int, int] = {}
        self.tail_start = 0
        self.last_arrival_ns = 0
        self.expected: int | None = None
        self.waiting = 0
        self.all_done = asyncio.Event()

    def record(self, index: int, latency_ns: int, arrived_ns: int) -> None:
        bucket = latency_ns // BUCKET_NS
        self.histogram[bucket] = self.histogram.get(bucket, 0) + 1
        if index >= self.tail_start:
            self.tail_histogram[bucket] = self.tail_histogram.get(bucket, 0) + 1
        if arrived_ns > self.last_arrival_ns:
            self.last_arrival_ns = arrived_ns

    def client_done(self) -> None:
        self.waiting -= 1
        if self.waiting <= 0:
            self.all_done.set()


class Client(asyncio.Protocol):
    def __init__(self, request: bytes, stats: Stats) -> None:
        self.request = request
        self.stats = stats
        self.transport: asyncio.Transport | None = None
        self.buffer = bytearray()
        self.upgraded = False
        self.confirmed: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self.seen = bytearray()
        self.received = 0
        self.duplicates = 0
        self.gone = False
        self.done = False

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        # uvloop's transports are not asyncio.Transport subclasses, but behave as one.
        self.transport = cast(asyncio.Transport, transport)
        self.transport.write(self.request)

    def connection_lost(self, exc: Exception | None) -> None:
        self._fail(ConnectionError(f"connection lost: {exc}"))

    def _fail(self, exc: Exception) -> None:
        if not self.confirmed.done():
            self.confirmed.set_exception(exc)
        if not self.gone:
            self.gone = True
            self._finish()

    def _finish(self) -> None:
        if not self.done and self.stats.expected is not None:
            self.done = True
            self.stats.client_done()

    def data_received(self, data: bytes) -> None:
        self.buffer += data
        if not self.upgraded:
            end = self.buffer.find(b"\r\n\r\n")
            if end < 0:
                return
            if not self.buffer.startswith(b"HTTP/1.1 101"):
                self._fail(ConnectionError(bytes(self.buffer[: end + 4]).decode(errors="replace")))
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
            if opcode in (_OP_TEXT, _OP_BINARY, _OP_CONTINUATION):
                self._message(buf, start, end)
            elif opcode == _OP_PING:
                self._pong(bytes(buf[start:end]))
            elif opcode == _OP_CLOSE:
                self._fail(ConnectionError("closed by the server"))
            pos = end
        del buf[:pos]

    def _message(self, buf: bytearray, start: int, end: int) -> None:
        if not self.confirmed.done():
            self.confirmed.set_result(None)
            return
        match = MARK.search(buf, start, end)
        if match is None:
            return
        arrived = time.monotonic_ns()
        index = int(match[2])
        seen = self.seen
        if index >= len(seen):
            seen.extend(bytes(index - len(seen) + 4096))
        if seen[index]:
            self.duplicates += 1
            return
        seen[index] = 1
        self.received += 1
        self.stats.record(index, arrived - int(match[1]), arrived)
        if self.stats.expected is not None and self.received >= self.stats.expected:
            self._finish()

    def _pong(self, payload: bytes) -> None:
        mask = os.urandom(4)
        masked = bytes(b ^ mask[i % 4] for i, b in enumerate(payload))
        assert self.transport is not None
        self.transport.write(bytes([0x8A, 0x80 | len(payload)]) + mask + masked)


def upgrade_request(url: str, token: str) -> bytes:
    parts = urlsplit(url)
    key = base64.b64encode(os.urandom(16)).decode()
    path = parts.path + (f"?{parts.query}" if parts.query else "")
    return (
        f"GET {path} HTTP/1.1\r\nHost: {parts.netloc}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
        f"Sec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\nAuthorization: Bearer {token}\r\n\r\n"
    ).encode()


async def open_all(url: str, count: int, token: str, stats: Stats) -> list[Client]:
    parts = urlsplit(url)
    host, port = parts.hostname or "127.0.0.1", parts.port or 80
    loop = asyncio.get_running_loop()
    gate = asyncio.Semaphore(_CONNECT_CONCURRENCY)

    async def one() -> Client:
        async with gate:
            _, client = await loop.create_connection(lambda: Client(upgrade_request(url, token), stats), host, port)
            await asyncio.wait_for(client.confirmed, 60)
            return client

    return list(await asyncio.gather(*(one() for _ in range(count))))


async def wait_for(clients: list[Client], stats: Stats, expected: int, tail_start: int, timeout: float) -> None:
    """Until every client holds `expected` messages (or is gone, or the timeout passes)."""
    stats.expected, stats.tail_start = expected, tail_start
    stats.all_done = asyncio.Event()
    stats.waiting = 0
    for client in clients:
        client.done = client.gone or client.received >= expected
        stats.waiting += not client.done
    if stats.waiting == 0:
        return
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(stats.all_done.wait(), timeout)


def report(clients: list[Client], stats: Stats) -> dict[str, Any]:
    return {
        "received": sum(c.received for c in clients),
        "complete": sum(1 for c in clients if c.received >= (stats.expected or 0)),
        "duplicates": sum(c.duplicates for c in clients),
        "disconnected": sum(c.gone for c in clients),
        "histogram": stats.histogram,
        "tail_histogram": stats.tail_histogram,
        "last_arrival_ns": stats.last_arrival_ns,
    }


async def main(url: str, count: int, token: str) -> None:
    stats = Stats()
    try:
        clients = await open_all(url, count, token, stats)
    except (OSError, TimeoutError) as exc:
        print(f"failed {exc!r}", flush=True)
        return
    print("ready", flush=True)
    loop = asyncio.get_running_loop()
    while line := await loop.run_in_executor(None, sys.stdin.readline):
        expected_text, timeout_text, tail_text = line.split()
        await wait_for(clients, stats, int(expected_text), int(tail_text), float(timeout_text))
        print(json.dumps(report(clients, stats)), flush=True)
        stats.histogram, stats.tail_histogram = {}, {}
    for client in clients:
        if client.transport is not None:
            client.transport.close()


if __name__ == "__main__":
    uvloop.run(main(sys.argv[1], int(sys.argv[2]), sys.argv[3]))
