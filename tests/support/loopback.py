"""A tiny HTTP server on the loopback address that records the requests it gets:
the stand-in for SNS when the service confirms a subscription."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


@dataclass
class Recorder:
    port: int
    paths: list[str] = field(default_factory=list)
    status: int = 200

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"


@contextmanager
def recording_server() -> Iterator[Recorder]:
    recorder = Recorder(port=0)

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            recorder.paths.append(self.path)
            self.send_response(recorder.status)
            self.send_header("Content-Type", "text/xml")
            self.end_headers()
            self.wfile.write(b"<ConfirmSubscriptionResponse/>")

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
