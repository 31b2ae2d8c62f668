"""What every benchmark needs: a database, the service in its own process(es),
subscriber processes holding many sockets, and a webhook sender.

Subscribers run in separate processes so their CPU is not the server's, and
measure latency with CLOCK_MONOTONIC, which is shared by every process on the
machine: the sender writes its send time into each webhook's summary, the
subscriber subtracts it from the arrival time.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import AsyncIterator, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import orjson
import psycopg

from app.auth.tokens import mint_token
from app.db.embedded import EmbeddedPostgres
from app.db.migrate import upgrade
from bench import native_pool
from bench.loadgen import Connection, Pool
from bench.subscriber_pool import BUCKET_NS

SECRET = "benchmark-secret-0123456789abcdef0123456789"
ROOT = Path(__file__).resolve().parents[1]


@contextlib.contextmanager
def database(durable: bool = True) -> Iterator[str]:
    """A fresh embedded cluster; `durable=False` turns off fsync for quick runs."""
    settings = {"max_connections": "300"}
    if not durable:
        settings |= {"fsync": "off", "synchronous_commit": "off"}
    with tempfile.TemporaryDirectory(prefix="ops-bench-") as tmp:
        Path(tmp).chmod(0o755)
        cluster = EmbeddedPostgres(Path(tmp) / "pg", server_settings=settings)
        cluster.start()
        try:
            url = cluster.url()
            upgrade(url)
            yield url
        finally:
            cluster.stop("immediate")


# Everything a Jira webhook writes, so each run starts from empty tables.
_WRITTEN = "events, incidents, tasks, assets, alerts, webhook_deliveries, jira_issue_state, notifications"


def reset(database_url: str) -> None:
    with psycopg.connect(database_url, autocommit=True) as conn:
        conn.execute(f"TRUNCATE {_WRITTEN} CASCADE")


def create_database(database_url: str, name: str) -> str:
    """A second database in the same cluster (for the reference and the ceilings): its URL."""
    with psycopg.connect(database_url, autocommit=True) as conn:
        exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,)).fetchone()
        if exists is None:
            conn.execute(f'CREATE DATABASE "{name}"')
    base, _, query = database_url.partition("?")
    return f"{base.rsplit('/', 1)[0]}/{name}" + (f"?{query}" if query else "")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class Service:
    process: subprocess.Popen[bytes]
    port: int

    @property
    def http(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def ws(self) -> str:
        return f"ws://127.0.0.1:{self.port}/api/ws"

    def pss_kib(self) -> int:
        """Proportional set size of the server and every process under it, in KiB.

        PSS rather than RSS: worker processes forked from one parent share pages,
        which RSS would count once per process."""
        return sum(_pss_kib(pid) for pid in process_tree(self.process.pid))


def _pss_kib(pid: int) -> int:
    with contextlib.suppress(FileNotFoundError, ProcessLookupError), open(f"/proc/{pid}/smaps_rollup") as rollup:
        for line in rollup:
            if line.startswith("Pss:"):
                return int(line.split()[1])
    return 0


def process_tree(pid: int) -> list[int]:
    """`pid` and all its descendants."""
    found, pending = [], [pid]
    while pending:
        current = pending.pop()
        found.append(current)
        with contextlib.suppress(FileNotFoundError), open(f"/proc/{current}/task/{current}/children") as f:
            pending.extend(int(child) for child in f.read().split())
    return found


@contextlib.contextmanager
def service(
    database_url: str,
    *,
    workers: int = 1,
    command: Sequence[str] | None = None,
    ready_path: str = "/readyz",
    settings: Mapping[str, str] | None = None,
) -> Iterator[Service]:
    """`ops-bridge serve` (or another server command, given PORT) in its own process group;
    `settings`: more environment for it (they win)."""
    port = free_port()
    env = {
        **os.environ,
        "DATABASE_URL": database_url,
        "JWT_SECRET": SECRET,
        "PORT": str(port),
        "LOG_LEVEL": "WARNING",
        "WS_MAX_BUFFERED_BYTES": str(16 * 1024 * 1024),
        # Benchmarks measure throughput: the per-sender flood limit would cap it.
        "WEBHOOK_RATE_LIMIT_PER_SECOND": "0",
        # Each subscriber pool connects its sockets with one token (one user).
        "WS_MAX_CONNECTIONS_PER_USER": "100000",
        # Ten thousand screens plus the senders' connections pass the default cap of 10,000
        # (docs/deployment.md: raise it to what a core carries).
        "MAX_CONNECTIONS": "100000",
        **(settings or {}),
    }
    argv = list(command or [sys.executable, "-m", "app.cli", "serve", "--no-migrate", "--workers", str(workers)])
    # stdout carries only the start-up banner; warnings and errors go to stderr.
    process = subprocess.Popen(argv, env=env, cwd=ROOT, start_new_session=True, stdout=subprocess.DEVNULL)
    running = Service(process, port)
    try:
        _wait_ready(running, ready_path)
        yield running
    finally:
        # Already gone when a benchmark stopped it itself (bench.reconnect_wave).
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(20)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()


def _wait_ready(running: Service, path: str, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if running.process.poll() is not None:
            raise RuntimeError("service exited during start-up")
        with contextlib.suppress(httpx.HTTPError):
            if httpx.get(f"{running.http}{path}", timeout=1).status_code == 200:
                return
        time.sleep(0.1)
    raise RuntimeError("service not ready in time")


def token(sub: str = "bench") -> str:
    return mint_token(SECRET, sub=sub, roles=["viewer"], ttl_seconds=3600)


@dataclass
class Delivery:
    """What the subscriber pools report after waiting for a number of messages."""

    received: int
    complete: int
    duplicates: int
    disconnected: int
    histogram: Histogram
    tail_histogram: Histogram
    last_arrival_ns: int
    # Only the C client reports these (bench/native_pool.c): event positions
    # skipped between two benchmark messages of a socket, and out of order.
    gaps: int = 0
    disorder: int = 0


# Which subscriber client the pools run: "native" (bench/native_pool.c, built
# on first use; Python when there is no compiler) or "python"
# (bench/subscriber_pool.py). bench.workload sets it from --client.
CLIENT = "native"
# Whether the C client offers permessage-deflate (for weighing idle connections only).
DEFLATE = False


def client_argv() -> list[str]:
    """The command of one subscriber process, before its WS_URL COUNT TOKEN."""
    built = native_pool.executable() if CLIENT == "native" or DEFLATE else None
    if built is None:
        return [sys.executable, "-m", "bench.subscriber_pool"]
    return [str(built)]


class Subscribers:
    """A pool of WebSocket subscribers in child processes (see `client_argv`)."""

    def __init__(self, ws_url: str, count: int, processes: int = 1) -> None:
        self.ws_url = ws_url
        self.count = count
        self.processes = max(1, min(processes, count))
        self.children: list[asyncio.subprocess.Process] = []

    async def __aenter__(self) -> Subscribers:
        per, extra = divmod(self.count, self.processes)
        argv = client_argv()
        for index in range(self.processes):
            n = per + (1 if index < extra else 0)
            child = await asyncio.create_subprocess_exec(
                *argv, self.ws_url, str(n), token(f"pool-{index}"), *(["deflate"] if DEFLATE else []),
                stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE, cwd=ROOT, limit=1 << 28,
            )  # fmt: skip
            self.children.append(child)
        for child in self.children:
            assert child.stdout is not None
            line = await asyncio.wait_for(child.stdout.readline(), 300)
            if line.strip() != b"ready":
                await self.__aexit__()
                raise RuntimeError(f"subscriber pool failed to connect: {line!r}")
        return self

    async def collect(self, expected_per_subscriber: int, timeout: float, tail_start: int = 0) -> Delivery:
        """Tell every pool how many messages to wait for; gather their reports.

        The histograms cover the messages that arrived since the last collect;
        `tail_histogram` those with an index from `tail_start` on."""
        for child in self.children:
            assert child.stdin is not None
            child.stdin.write(f"{expected_per_subscriber} {timeout} {tail_start}\n".encode())
            await child.stdin.drain()
        reports = []
        for child in self.children:
            assert child.stdout is not None
            reports.append(json.loads(await child.stdout.readline()))
        return Delivery(
            received=sum(r["received"] for r in reports),
            complete=sum(r["complete"] for r in reports),
            duplicates=sum(r["duplicates"] for r in reports),
            disconnected=sum(r["disconnected"] for r in reports),
            histogram=Histogram.merge(r["histogram"] for r in reports),
            tail_histogram=Histogram.merge(r["tail_histogram"] for r in reports),
            last_arrival_ns=max(r["last_arrival_ns"] for r in reports),
            gaps=sum(r.get("gaps", 0) for r in reports),
            disorder=sum(r.get("disorder", 0) for r in reports),
        )

    async def __aexit__(self, *_: object) -> None:
        for child in self.children:
            if child.returncode is None:
                child.kill()
            await child.wait()


@dataclass
class Histogram:
    """Latencies in 0.1 ms buckets (as the subscriber pools count them)."""

    counts: dict[int, int]

    @classmethod
    def merge(cls, parts: Iterable[dict[str, int]]) -> Histogram:
        counts: dict[int, int] = {}
        for part in parts:
            for bucket, n in part.items():
                counts[int(bucket)] = counts.get(int(bucket), 0) + n
        return cls(counts)

    @property
    def total(self) -> int:
        return sum(self.counts.values())

    def percentile_ms(self, q: float) -> float:
        """The upper edge of the bucket holding the q-th percentile."""
        total = self.total
        if not total:
            return float("nan")
        rank, seen = q / 100 * total, 0
        for bucket in sorted(self.counts):
            seen += self.counts[bucket]
            if seen >= rank:
                return (bucket + 1) * BUCKET_NS / 1e6
        return (max(self.counts) + 1) * BUCKET_NS / 1e6


def summary_for(sent_ns: int, index: int) -> str:
    return f"bench {sent_ns} {index}"


def webhook(index: int) -> dict[str, Any]:
    """A Jira issue-created delivery whose summary carries its send time."""
    return {
        "webhookEvent": "jira:issue_created",
        "timestamp": 1737109800000,
        "issue": {
            "id": str(100000 + index),
            "key": f"OPS-{index}",
            "fields": {
                "summary": summary_for(time.monotonic_ns(), index),
                "issuetype": {"name": "Incident"},
                "project": {"key": "OPS"},
                "priority": {"name": "High"},
                "status": {"name": "Open", "statusCategory": {"key": "new"}},
                "created": "2025-01-17T10:30:00.000+0000",
                "updated": "2025-01-17T10:30:00.000+0000",
            },
        },
    }


@contextlib.asynccontextmanager
async def http_client(base: str, connections: int) -> AsyncIterator[Pool]:
    host, port = base.removeprefix("http://").split(":")
    pool = Pool(host, int(port), connections)
    try:
        yield pool
    finally:
        await pool.close()


def webhook_bytes(index: int) -> bytes:
    return orjson.dumps(webhook(index))


async def send_at_rate(pool: Pool, path: str, rate: float, count: int, start: int = 0) -> int:
    """Post `count` webhooks at a steady `rate` per second; return how many were accepted."""
    interval = 1.0 / rate
    begin = time.monotonic()
    idle: asyncio.Queue[Connection] = asyncio.Queue()
    for connection in pool.connections:
        idle.put_nowait(connection)

    async def post(n: int) -> int:
        connection = await idle.get()
        try:
            return await connection.post(path, webhook_bytes(start + n))
        finally:
            idle.put_nowait(connection)

    tasks = []
    for n in range(count):
        delay = begin + n * interval - time.monotonic()
        if delay > 0:
            await asyncio.sleep(delay)
        tasks.append(asyncio.create_task(post(n)))
    statuses = await asyncio.gather(*tasks)
    return sum(1 for status in statuses if status == 200)


async def send_flat_out(pool: Pool, path: str, seconds: float, concurrency: int, start: int = 0) -> tuple[int, float]:
    """Post from `concurrency` senders (one connection each) for `seconds`; return (accepted, elapsed)."""
    counter = iter(range(start, start + 10_000_000))
    accepted = 0
    deadline = time.monotonic() + seconds

    async def sender(connection: Connection) -> None:
        nonlocal accepted
        while time.monotonic() < deadline:
            # Await first: `accepted += await ...` would read `accepted` before
            # the await and lose the other senders' increments.
            status = await connection.post(path, webhook_bytes(next(counter)))
            accepted += status == 200

    begin = time.monotonic()
    await asyncio.gather(*(sender(c) for c in pool.connections[:concurrency]))
    return accepted, time.monotonic() - begin


def percentile(values: Sequence[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(q / 100 * (len(ordered) - 1))))
    return ordered[index]


def median(values: Sequence[float]) -> float:
    return statistics.median(values) if values else float("nan")
