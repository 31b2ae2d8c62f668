"""A real PgBouncer in transaction mode in front of the suite's PostgreSQL.

Most managed PostgreSQL is offered behind such a pooler: a server connection
belongs to a client for one transaction only, so anything a session keeps
(LISTEN, session advisory locks, SET, server-side prepared statements before
PgBouncer 1.21) is lost or lands on somebody else's connection. The suite
starts Debian's `/usr/sbin/pgbouncer` (1.18 here: no prepared-statement
support) with a configuration of its own in a temporary directory, on a free
loopback port, and stops it afterwards.
"""

from __future__ import annotations

import os
import pwd
import shutil
import subprocess
import tempfile
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import psycopg
from sqlalchemy.engine import make_url

from tests.support.server import free_port

BINARY = "/usr/sbin/pgbouncer"
_START_TIMEOUT = 20.0


@dataclass
class Pooler:
    port: int

    def url(self, direct_url: str) -> str:
        """`direct_url`'s database, reached through the pooler."""
        return (
            make_url(direct_url).set(host="127.0.0.1", port=self.port, query={}).render_as_string(hide_password=False)
        )


def _host(server_url: str) -> str:
    url = make_url(server_url)
    return str(url.query.get("host") or url.host or "127.0.0.1")


def _server_target(server_url: str) -> str:
    """The `[databases]` entry's connection options: every client database, to the server."""
    url = make_url(server_url)
    parts = [f"host={_host(server_url)}", f"port={url.port or 5432}", f"user={url.username or 'postgres'}"]
    if url.password:
        parts.append(f"password={url.password}")
    return " ".join(parts)


def _config(directory: Path, port: int, server_url: str, *, pool_size: int, round_robin: bool) -> Path:
    user = make_url(server_url).username or "postgres"
    config = directory / "pgbouncer.ini"
    config.write_text(
        "\n".join(
            [
                "[databases]",
                f"* = {_server_target(server_url)}",
                "[pgbouncer]",
                "listen_addr = 127.0.0.1",
                f"listen_port = {port}",
                "unix_socket_dir =",
                "auth_type = any",
                f"admin_users = {user}",
                "pool_mode = transaction",
                f"default_pool_size = {pool_size}",
                "max_client_conn = 1000",
                f"server_round_robin = {int(round_robin)}",
                "ignore_startup_parameters = extra_float_digits,options",
                f"logfile = {directory / 'pgbouncer.log'}",
                f"pidfile = {directory / 'pgbouncer.pid'}",
                "",
            ]
        )
    )
    return config


def _run_as(server_url: str) -> str | None:
    """PgBouncer refuses to run as root: under root it runs as the user that owns the server's
    Unix socket (the embedded cluster's, who may reach it), or nobody for a server on TCP."""
    if os.geteuid() != 0:
        return None
    host = _host(server_url)
    if host.startswith("/"):
        socket = Path(host) / f".s.PGSQL.{make_url(server_url).port or 5432}"
        return pwd.getpwuid(socket.stat().st_uid).pw_name
    return "nobody"


def _wait_until_serving(process: subprocess.Popen[bytes], admin_url: str, directory: Path) -> None:
    deadline = time.monotonic() + _START_TIMEOUT
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"pgbouncer exited with {process.returncode}:\n{_tail(directory)}")
        try:
            with psycopg.connect(admin_url, autocommit=True, connect_timeout=2, prepare_threshold=None):
                return
        except psycopg.OperationalError:
            time.sleep(0.05)  # not accepting yet: nothing to await but the port
    raise RuntimeError(f"pgbouncer did not accept connections within {_START_TIMEOUT:g}s:\n{_tail(directory)}")


def _tail(directory: Path) -> str:
    logs = [directory / "stderr.log", directory / "pgbouncer.log"]
    return "".join(log.read_text(errors="replace")[-2000:] for log in logs if log.exists())


@contextmanager
def pgbouncer(server_url: str, *, pool_size: int = 10, round_robin: bool = False) -> Iterator[Pooler]:
    """PgBouncer in transaction mode on a free loopback port, in front of the PostgreSQL server
    `server_url` points at (every database of it), for as long as the block runs.

    Its files live in a private directory of their own (under root, owned by the
    user it runs as), removed afterwards."""
    if not Path(BINARY).exists():
        raise RuntimeError(f"{BINARY} is missing: install Debian's pgbouncer package (.ci/run does)")
    directory = Path(tempfile.mkdtemp(prefix="ops-bridge-pgbouncer-"))
    try:
        with _running(server_url, directory, pool_size=pool_size, round_robin=round_robin) as pooler:
            yield pooler
    finally:
        shutil.rmtree(directory, ignore_errors=True)


@contextmanager
def _running(server_url: str, directory: Path, *, pool_size: int, round_robin: bool) -> Iterator[Pooler]:
    port = free_port()
    config = _config(directory, port, server_url, pool_size=pool_size, round_robin=round_robin)
    user = _run_as(server_url)
    if user is not None:
        entry = pwd.getpwnam(user)
        for path in (directory, config):
            os.chown(path, entry.pw_uid, entry.pw_gid)
    argv = [BINARY, *(["-u", user] if user else []), str(config)]
    with (directory / "stderr.log").open("wb") as stderr:
        process = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=stderr)
    admin_url = f"postgresql://{make_url(server_url).username or 'postgres'}@127.0.0.1:{port}/pgbouncer"
    try:
        _wait_until_serving(process, admin_url, directory)
        yield Pooler(port)
    finally:
        process.terminate()
        try:
            process.wait(10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(10)


@contextmanager
def busy(url: str, clients: int) -> Iterator[None]:
    """`clients` connections through the pooler, each running short transactions back to
    back while the block runs: every server connection is wanted by somebody."""
    stop = threading.Event()

    def work() -> None:
        with psycopg.connect(url, autocommit=True, prepare_threshold=None) as conn:
            while not stop.is_set():
                conn.execute("SELECT pg_sleep(0.002)")

    threads = [threading.Thread(target=work, daemon=True) for _ in range(clients)]
    for thread in threads:
        thread.start()
    try:
        yield
    finally:
        stop.set()
        for thread in threads:
            thread.join(10)
