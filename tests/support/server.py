"""The service under test, on real sockets: in a thread, or as separate processes."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import uvicorn

from app.config import Settings
from app.factory import create_app
from app.server import uvicorn_config


@dataclass
class RunningServer:
    port: int
    settings: Settings

    @property
    def http(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def ws(self) -> str:
        return f"ws://127.0.0.1:{self.port}/api/ws"


def _listening_socket(port: int = 0) -> socket.socket:
    # Bound and listening before the server starts: clients may connect at once
    # and are served as soon as start-up completes, with no port race.
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", port))
    sock.listen(1024)
    return sock


@contextmanager
def server_in_thread(settings: Settings, port: int = 0, app: object | None = None) -> Iterator[RunningServer]:
    """The app (or `app`, a stand-in behind the same edge) served by uvicorn in a thread,
    on `port` (0: a free one)."""
    sock = _listening_socket(port)
    port = sock.getsockname()[1]
    settings = settings.model_copy(update={"port": port})
    config = uvicorn_config(settings, create_app(settings) if app is None else app)
    config.log_level = "warning"
    server = uvicorn.Server(config)
    started = threading.Event()

    original_startup = server.startup

    async def startup(sockets: list[socket.socket] | None = None) -> None:
        await original_startup(sockets)
        started.set()

    server.startup = startup  # type: ignore[method-assign]
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    if not started.wait(30):
        raise RuntimeError("test server did not start")
    try:
        yield RunningServer(port, settings)
    finally:
        server.should_exit = True
        thread.join(30)
        sock.close()


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class ServerProcess:
    process: subprocess.Popen[str]
    port: int
    output: list[str]

    @property
    def http(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def ws(self) -> str:
        return f"ws://127.0.0.1:{self.port}/api/ws"

    def kill(self) -> None:
        self.process.kill()
        self.process.wait(10)

    def terminate(self) -> int:
        self.process.send_signal(signal.SIGTERM)
        return self.process.wait(30)


@contextmanager
def server_process(
    env: dict[str, str], port: int | None = None, *, migrate: bool = False, cwd: str | None = None
) -> Iterator[ServerProcess]:
    """`ops-bridge serve` in its own process; returns once it serves."""
    port = port or free_port()
    argv = [sys.executable, "-m", "app.cli", "serve", "--port", str(port)]
    inherited = {k: v for k, v in os.environ.items() if k not in {"DATABASE_URL", "DATA_DIR", "JWT_SECRET"}}
    process = subprocess.Popen(
        argv if migrate else [*argv, "--no-migrate"],
        env={**inherited, **env, "LOG_LEVEL": "INFO"},
        cwd=cwd,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    output: list[str] = []
    assert process.stdout is not None
    for line in process.stdout:
        output.append(line)
        if "Uvicorn running on" in line:  # printed once the socket listens
            break
    else:
        raise RuntimeError("server process exited during start-up:\n" + "".join(output))
    drain = threading.Thread(target=lambda: output.extend(process.stdout or []), daemon=True)
    drain.start()
    running = ServerProcess(process, port, output)
    try:
        yield running
    finally:
        if process.poll() is None:
            process.kill()
        process.wait(10)
        drain.join(10)
        process.stdout.close()
