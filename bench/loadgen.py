"""A lean HTTP/1.1 load generator: keep-alive connections, requests written as
bytes, responses parsed only as far as the status and Content-Length.

On a two-core machine the load generator shares the CPU with the service; httpx
spends milliseconds of CPU per request, which would measure the client, not the
server. This spends a few tens of microseconds.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable


class Connection:
    def __init__(self, host: str, port: int) -> None:
        self.host, self.port = host, port
        self._reader: asyncio.StreamReader | None = None
        self._writer: asyncio.StreamWriter | None = None

    async def _open(self) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
        if self._reader is None or self._writer is None or self._writer.is_closing():
            self._reader, self._writer = await asyncio.open_connection(self.host, self.port)
        return self._reader, self._writer

    async def post(self, path: str, body: bytes, headers: dict[str, str] | None = None) -> int:
        reader, writer = await self._open()
        extra = "".join(f"{k}: {v}\r\n" for k, v in (headers or {}).items())
        head = (
            f"POST {path} HTTP/1.1\r\nHost: {self.host}\r\nContent-Type: application/json\r\n"
            f"Content-Length: {len(body)}\r\n{extra}\r\n"
        )
        writer.write(head.encode() + body)
        status_line = await reader.readline()
        status = int(status_line.split()[1])
        length = 0
        while (line := await reader.readline()) not in (b"\r\n", b""):
            if line[:15].lower() == b"content-length:":
                length = int(line[15:])
        if length:
            await reader.readexactly(length)
        return status

    async def close(self) -> None:
        if self._writer is not None:
            self._writer.close()


class Pool:
    """`size` keep-alive connections; each sender uses its own."""

    def __init__(self, host: str, port: int, size: int) -> None:
        self.connections = [Connection(host, port) for _ in range(size)]

    async def close(self) -> None:
        await asyncio.gather(*(c.close() for c in self.connections))


BodyFactory = Callable[[int], bytes]
