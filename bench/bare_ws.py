"""The ceiling of Python WebSocket fan-out here: a bare `websockets` server that
does nothing but broadcast 500-byte frames (run by bench.ceilings).

    python -m bench.bare_ws PORT

It greets each connection with one message (so a subscriber knows it is
registered, as the service's confirmation tells it), then reads commands on
stdin: `send N` broadcasts the next N frames as fast as `websockets.broadcast` writes
them, pausing while any connection has more than 256 KiB waiting (broadcast
itself has no backpressure, and a frame lost to a full buffer would not be a
delivery), and answers `sent` once the last one is written. Same event loop
(uvloop) as the service.
"""

from __future__ import annotations

import asyncio
import sys
import time

import uvloop
from websockets.asyncio.server import ServerConnection, broadcast, serve

FRAME_BYTES = 500
_HIGH_WATER = 256 * 1024
_CHECK_EVERY = 8

connections: set[ServerConnection] = set()


async def handler(ws: ServerConnection) -> None:
    connections.add(ws)
    try:
        await ws.send('{"type":"connected"}')
        await ws.wait_closed()
    finally:
        connections.discard(ws)


def frame(index: int) -> str:
    head = f'{{"id":{index},"data":{{"title":"bench {time.monotonic_ns()} {index}","pad":"'
    return head + "x" * (FRAME_BYTES - len(head) - 3) + '"}}'


def _backlogged() -> bool:
    return any(ws.transport.get_write_buffer_size() > _HIGH_WATER for ws in connections)


async def send(start: int, count: int) -> None:
    for index in range(start, start + count):
        broadcast(connections, frame(index))
        if index % _CHECK_EVERY == 0:
            await asyncio.sleep(0)
            while _backlogged():  # noqa: ASYNC110 - polls the transports' buffers, which have no event to await
                await asyncio.sleep(0.001)


async def main(port: int) -> None:
    async with serve(handler, "127.0.0.1", port, ping_interval=None, max_queue=None):
        print("listening", flush=True)
        loop = asyncio.get_running_loop()
        sent = 0
        while line := await loop.run_in_executor(None, sys.stdin.readline):
            count = int(line.split()[1])
            await send(sent, count)
            sent += count
            print("sent", flush=True)


if __name__ == "__main__":
    uvloop.run(main(int(sys.argv[1])))
