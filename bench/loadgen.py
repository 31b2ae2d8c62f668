"""A lean HTTP/1.1 load generator: keep-alive connections, requests written as
bytes, responses parsed only as far as the status and Content-Length.

On a two-core machine the load generator shares the CPU with the service; httpx
spends milliseconds of CPU per request, which would measure the client, not the
server. This spends a few tens of microseconds.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable


class _Closed(Exception):
    """The server closed the connection before answering."""


class Connection:
    def __init__(self, host: str, port: int) -> None:
        self.host, self.port = host, port
        self._reader: asyncio.StreamReader | None = None
        self._writer: asyncio.StreamWriter | None = None

    async def _open(self) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
        reader, writer = self._reader, self._writer
        if reader is None or writer is None or reader.at_eof() or writer.is_closing():
            if writer is not None:
                writer.close()
            reader, writer = self._reader, self._writer = await asyncio.open_connection(self.host, self.port)
        return reader, writer

    async def post(self, path: str, body: bytes, headers: dict[str, str] | None = None) -> int:
        """The answer's status. A keep-alive connection the server closed while it
        was idle (uvicorn does after 5 s) is replaced and the request sent again,
        as HTTP clients do: the server closed it without reading the request."""
        try:
            return await self._post(path, body, headers)
        except (ConnectionError, _Closed):
            if self._writer is not None:
                self._writer.close()
            self._reader = self._writer = None
            return await self._post(path, body, headers)

    async def _post(self, path: str, body: bytes, headers: dict[str, str] | None) -> int:
        reader, writer = await self._open()
        extra = "".join(f"{k}: {v}\r\n" for k, v in (headers or {}).items())
        head = (
            f"POST {path} HTTP/1.1\r\nHost: {self.host}\r\nContent-Type: application/json\r\n"
            f"Content-Length: {len(body)}\r\n{extra}\r\n"
        )
        writer.write(head.encode() + body)
        status_line = await reader.readline()
        if not status_line:
            raise _Closed
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
