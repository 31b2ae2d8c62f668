"""A real Redis for the broker's tests: Debian's `/usr/bin/redis-server` on a free
loopback port, in a temporary directory, with no persistence (a restart loses
the stream, which is the fault the edges must survive).

Started the way tests/support/pgbouncer.py starts PgBouncer: a process of the
test's own, waited for until it answers, stopped afterwards. `restart()` stops
it and starts it again on the same port.
"""

from __future__ import annotations

import shutil
import subprocess
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import redis

from tests.support.server import free_port

BINARY = "/usr/bin/redis-server"
_START_TIMEOUT = 20.0


@dataclass
class RedisServer:
    port: int
    directory: Path
    process: subprocess.Popen[bytes] | None = field(default=None, repr=False)

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def client(self) -> redis.Redis:
        return redis.Redis(host="127.0.0.1", port=self.port, socket_timeout=5)

    def start(self) -> None:
        argv = [
            BINARY,
            "--port", str(self.port),
            "--bind", "127.0.0.1",
            "--save", "",
            "--appendonly", "no",
            "--dir", str(self.directory),
            "--protected-mode", "yes",
            "--logfile", str(self.directory / "redis.log"),
        ]  # fmt: skip
        self.process = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        self._wait_until_serving()

    def stop(self) -> None:
        if self.process is None:
            return
        self.process.terminate()
        try:
            self.process.wait(10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(10)
        self.process = None

    def restart(self) -> None:
        """Stopped and started again on the same port: its stream is gone."""
        self.stop()
        self.start()

    def _wait_until_serving(self) -> None:
        assert self.process is not None
        deadline = time.monotonic() + _START_TIMEOUT
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"redis-server exited with {self.process.returncode}:\n{self._tail()}")
            try:
                with self.client() as client:
                    client.ping()
                    return
            except redis.ConnectionError:
                time.sleep(0.05)  # not accepting yet: nothing to await but the port
        raise RuntimeError(f"redis-server did not answer within {_START_TIMEOUT:g}s:\n{self._tail()}")

    def _tail(self) -> str:
        log = self.directory / "redis.log"
        return log.read_text(errors="replace")[-2000:] if log.exists() else ""


@contextmanager
def redis_server() -> Iterator[RedisServer]:
    """Redis on a free loopback port for as long as the block runs."""
    if not Path(BINARY).exists():
        raise RuntimeError(f"{BINARY} is missing: install Debian's redis-server package (.ci/run does)")
    directory = Path(tempfile.mkdtemp(prefix="ops-bridge-redis-"))
    server = RedisServer(free_port(), directory)
    try:
        server.start()
        yield server
    finally:
        server.stop()
        shutil.rmtree(directory, ignore_errors=True)
