"""What this machine allows at all, measured with the same clients as the workloads.

    python -m bench.ceilings [--runs 3]

- PostgreSQL: INSERT+NOTIFY transactions committed per second from 1 and from
  8 connections (same embedded, durable cluster; a 600-byte JSON row, NOTIFY in
  the same transaction, one round trip each, one connection LISTENing and
  counting that every notification arrived).
- A bare `websockets` server (bench.bare_ws) broadcasting 500-byte frames to
  1,000 subscribers of bench.subscriber_pool: frames delivered per second, until
  the last subscriber has the last frame; and its memory per idle connection.
- An empty FastAPI POST endpoint under uvicorn (served as the service is):
  requests per second from bench.loadgen's 16 keep-alive senders.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import subprocess
import sys
import time
from collections.abc import Iterator

import asyncpg

from bench import harness, workload
from bench.workload import JIRA, Context, Figures

_ROW = '{"webhookEvent": "jira:issue_created", "issue": {"key": "OPS-1", "fields": {"summary": "' + "x" * 500 + '"}}}'
_TRANSACTION = (
    "BEGIN; INSERT INTO ceiling_events (payload) VALUES ('" + _ROW + "'); SELECT pg_notify('ceiling', '1'); COMMIT"
)


async def pg_insert_notify(url: str, connections: int, seconds: float) -> float:
    """INSERT+NOTIFY transactions committed per second from `connections` connections."""
    setup = await asyncpg.connect(url)
    await setup.execute("CREATE TABLE IF NOT EXISTS ceiling_events (id bigserial PRIMARY KEY, payload jsonb)")
    await setup.execute("TRUNCATE ceiling_events")
    heard = 0

    def on_notify(*_: object) -> None:
        nonlocal heard
        heard += 1

    await setup.add_listener("ceiling", on_notify)
    writers = [await asyncpg.connect(url) for _ in range(connections)]
    committed = 0
    deadline = time.monotonic() + seconds

    async def write(conn: asyncpg.Connection) -> None:
        nonlocal committed
        while time.monotonic() < deadline:
            await conn.execute(_TRANSACTION)
            committed += 1

    began = time.monotonic()
    await asyncio.gather(*(write(conn) for conn in writers))
    elapsed = time.monotonic() - began
    for _ in range(100):
        if heard >= committed:
            break
        await asyncio.sleep(0.05)
    for conn in [*writers, setup]:
        await conn.close()
    if heard < committed:
        raise workload.Lost(committed - heard, 0, 0)
    return committed / elapsed


@contextlib.contextmanager
def bare_server() -> Iterator[tuple[subprocess.Popen[bytes], int]]:
    port = harness.free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "bench.bare_ws", str(port)],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, cwd=harness.ROOT, start_new_session=True,
    )  # fmt: skip
    try:
        assert process.stdout is not None
        if process.stdout.readline().strip() != b"listening":
            raise RuntimeError("bare websockets server did not start")
        yield process, port
    finally:
        process.kill()
        process.wait()


async def websockets_broadcast(clients: int, frames: int, pools: int) -> Figures:
    """Frames per second a bare `websockets` server delivers to `clients`, and KiB per idle connection."""
    with bare_server() as (process, port):
        idle = harness.Service(process, port).pss_kib()
        async with harness.Subscribers(f"ws://127.0.0.1:{port}/", clients, processes=pools) as subscribers:
            await asyncio.sleep(1)  # let the connections settle before weighing them
            connected = harness.Service(process, port).pss_kib()
            assert process.stdin is not None
            assert process.stdout is not None
            began = time.monotonic_ns()
            process.stdin.write(f"send {frames}\n".encode())
            process.stdin.flush()
            delivery = await workload.check_delivered(subscribers, frames, timeout=120)
            elapsed = (delivery.last_arrival_ns - began) / 1e9
            await asyncio.to_thread(process.stdout.readline)
    return {
        "frames_per_s": frames * clients / elapsed,
        "kib_per_connection": (connected - idle) / clients,
    }


async def fastapi_empty(seconds: float) -> float:
    """Requests per second an empty FastAPI POST endpoint answers."""
    command = [sys.executable, "-m", "bench.reference", "empty"]
    with harness.service("unused", command=command, ready_path="/openapi.json") as running:
        async with harness.http_client(running.http, 16) as client:
            await harness.send_flat_out(client, JIRA, 0.5, 16)  # warm-up
            accepted, elapsed = await harness.send_flat_out(client, JIRA, seconds, 16)
    return accepted / elapsed


async def postgres(context: Context, args: argparse.Namespace) -> Figures:
    return {
        "pg_commits_per_s_1conn": await pg_insert_notify(context.ceilings, 1, args.pg_seconds),
        "pg_commits_per_s_8conn": await pg_insert_notify(context.ceilings, 8, args.pg_seconds),
    }


async def bare_websockets(_: Context, args: argparse.Namespace) -> Figures:
    return await websockets_broadcast(args.clients, args.frames, workload.pools_for(args.clients))


async def one_run(target: workload.Target, context: Context, args: argparse.Namespace) -> Figures:
    """All three ceilings (the `target` is a placeholder: ceilings have none)."""
    del target
    return {
        **await postgres(context, args),
        **await bare_websockets(context, args),
        "fastapi_empty_per_s": await fastapi_empty(args.http_seconds),
    }


def configure(p: argparse.ArgumentParser) -> None:
    add_options(p)
    p.set_defaults(only="ceilings")


def add_options(p: argparse.ArgumentParser) -> None:
    p.add_argument("--pg-seconds", type=float, default=5.0)
    p.add_argument("--clients", type=int, default=1000, help="subscribers of the bare websockets server")
    p.add_argument("--frames", type=int, default=400, help="frames broadcast to each of them")
    p.add_argument("--http-seconds", type=float, default=5.0)


if __name__ == "__main__":
    workload.main(__doc__, "ceilings", one_run, configure, [])
