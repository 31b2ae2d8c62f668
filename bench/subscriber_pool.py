"""A child process holding many WebSocket subscribers (used by bench.harness).

Protocol with the parent, one line each: it prints `ready` once every socket
has its confirmation; it reads `<expected> <timeout>`, waits until every
socket has that many events (or the timeout passes), and prints a JSON report.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import sys
import time
from typing import Any

from websockets.asyncio.client import ClientConnection, connect


class Client:
    def __init__(self) -> None:
        self.ids: set[int] = set()
        self.duplicates = 0
        self.latencies_ms: list[float] = []
        self.disconnected = False
        self.done = asyncio.Event()
        self.expected: int | None = None

    def on_message(self, raw: str | bytes, arrived_ns: int) -> None:
        message: dict[str, Any] = json.loads(raw)
        if "id" not in message:
            return
        if message["id"] in self.ids:
            self.duplicates += 1
        self.ids.add(message["id"])
        title = message["data"].get("title", "")
        if title.startswith("bench "):
            sent_ns = int(title.split()[1])
            self.latencies_ms.append((arrived_ns - sent_ns) / 1e6)
        if self.expected is not None and len(self.ids) >= self.expected:
            self.done.set()


async def run_client(ws: ClientConnection, client: Client) -> None:
    try:
        async for raw in ws:
            client.on_message(raw, time.monotonic_ns())
    except Exception:
        pass
    client.disconnected = True
    client.done.set()


async def main(url: str, count: int, token: str) -> None:
    headers = {"Authorization": f"Bearer {token}"}
    sockets: list[ClientConnection] = []
    for _ in range(count):
        ws = await connect(url, additional_headers=headers, max_queue=None, open_timeout=60, compression=None)
        await ws.recv()  # the confirmation
        sockets.append(ws)
    clients = [Client() for _ in sockets]
    readers = [asyncio.create_task(run_client(ws, c)) for ws, c in zip(sockets, clients, strict=True)]
    print("ready", flush=True)
    loop = asyncio.get_running_loop()
    while line := await loop.run_in_executor(None, sys.stdin.readline):
        expected, timeout = int(line.split()[0]), float(line.split()[1])
        await wait_for(clients, expected, timeout)
        report = {
            "received": sum(len(c.ids) for c in clients),
            "duplicates": sum(c.duplicates for c in clients),
            "disconnected": sum(c.disconnected for c in clients),
            "latencies_ms": [v for c in clients for v in c.latencies_ms],
        }
        print(json.dumps(report), flush=True)
        for client in clients:
            client.latencies_ms.clear()
    for task in readers:
        task.cancel()
    await asyncio.gather(*(ws.close() for ws in sockets), return_exceptions=True)


async def wait_for(clients: list[Client], expected: int, timeout: float) -> None:
    """Until every client holds `expected` events in all (or the timeout passes)."""
    for client in clients:
        client.expected = expected
        client.done = asyncio.Event()
        if len(client.ids) >= expected or client.disconnected:
            client.done.set()
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(asyncio.gather(*(c.done.wait() for c in clients)), timeout)


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1], int(sys.argv[2]), sys.argv[3]))
