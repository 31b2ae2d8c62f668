"""Stand-ins for SNS on the loopback address when the service confirms a
subscription: a tiny HTTP server that records the requests it gets (and the
CONNECTs it gets as a proxy), and a tarpit that never answers."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


@dataclass
class Recorder:
    port: int
    paths: list[str] = field(default_factory=list)
    status: int = 200
    _visited: threading.Condition = field(default_factory=threading.Condition)

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def record(self, path: str) -> None:
        with self._visited:
            self.paths.append(path)
            self._visited.notify_all()

    async def visited(self, count: int = 1, timeout: float = 30.0) -> list[str]:
        """The paths once at least `count` requests have arrived (the service makes them later)."""

        def wait() -> bool:
            with self._visited:
                return self._visited.wait_for(lambda: len(self.paths) >= count, timeout)

        if not await asyncio.to_thread(wait):
            raise AssertionError(f"{len(self.paths)} request(s) within {timeout}s, expected {count}")
        return list(self.paths)


@contextmanager
def recording_server() -> Iterator[Recorder]:
    recorder = Recorder(port=0)

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            recorder.record(self.path)
            self.send_response(recorder.status)
            self.send_header("Content-Type", "text/xml")
            self.end_headers()
            self.wfile.write(b"<ConfirmSubscriptionResponse/>")

        def do_CONNECT(self) -> None:
            # As a proxy (HTTPS_PROXY): what the service tried to reach, refused.
            recorder.record(f"CONNECT {self.path}")
            self.send_response(403)
            self.end_headers()

        def log_message(self, *_args: object) -> None:
            return

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    recorder.port = server.server_address[1]
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield recorder
    finally:
        server.shutdown()
        server.server_close()
        thread.join(10)


@dataclass
class Tarpit:
    """A server that accepts connections and never answers: an SNS that cannot be reached."""

    port: int = 0
    open: int = 0
    most_open: int = 0
    accepted: int = 0
    _changed: asyncio.Condition = field(default_factory=asyncio.Condition)
    _release: asyncio.Event = field(default_factory=asyncio.Event)

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    async def holding(self, count: int, timeout: float = 30.0) -> None:
        """Until `count` connections are held open at once."""
        async with asyncio.timeout(timeout), self._changed:
            await self._changed.wait_for(lambda: self.open >= count)

    async def _hold(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        async with self._changed:
            self.open += 1
            self.accepted += 1
            self.most_open = max(self.most_open, self.open)
            self._changed.notify_all()
        released = asyncio.ensure_future(self._release.wait())
        gone = asyncio.ensure_future(_until_closed(reader))
        try:
            await asyncio.wait({released, gone}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            released.cancel()
            gone.cancel()
            writer.close()
            async with self._changed:
                self.open -= 1
                self._changed.notify_all()


async def _until_closed(reader: asyncio.StreamReader) -> None:
    """Read (and ignore) what the client sends until it closes its side."""
    while await reader.read(65536):
        pass


@asynccontextmanager
async def tarpit() -> AsyncIterator[Tarpit]:
    pit = Tarpit()
    server = await asyncio.start_server(pit._hold, "127.0.0.1", 0)
    pit.port = server.sockets[0].getsockname()[1]
    try:
        yield pit
    finally:
        pit._release.set()
        server.close()
        await server.wait_closed()
