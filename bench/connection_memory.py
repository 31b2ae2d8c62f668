"""Where the service's memory per idle connection goes: tracemalloc inside the server.

    python -m bench.connection_memory [--subscribers 2000] [--top 30] [--frames 6]

Starts `ops-bridge serve` (one worker) under tracemalloc, takes a snapshot (after
a full collection) before and after `--subscribers` idle subscribers connect
(the C client, no compression offered; `--deflate` offers permessage-deflate as
browsers do), and prints what grew, per connection: by source line, by the
allocation's call path, and the total traced beside the PSS growth (the rest
is the allocator's overhead and memory Python does not trace). A diagnosis,
not a figure: tracemalloc itself slows the server and adds its own bookkeeping
(excluded from the lines below, not from the PSS).
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import itertools
import os
import signal
import sys
import tempfile
import time
import tracemalloc
from pathlib import Path
from types import FrameType

import uvloop

from bench import harness, workload

_SETTLE_SECONDS = 3.0


def serve_traced(argv: list[str]) -> None:
    """The server side: `ops-bridge <argv>` that dumps a snapshot on SIGUSR1."""
    tracemalloc.start(int(os.environ.get("TRACE_FRAMES", "6")))
    path = os.environ["SNAPSHOT_PATH"]
    numbers = itertools.count()

    def dump(_signum: int, _frame: FrameType | None) -> None:
        gc.collect()
        target = f"{path}.{next(numbers)}"
        tracemalloc.take_snapshot().dump(target + ".partial")
        os.replace(target + ".partial", target)

    signal.signal(signal.SIGUSR1, dump)
    sys.argv = ["ops-bridge", *argv]
    from app.cli import main

    main()


async def _snapshot(running: harness.Service, path: Path, number: int) -> tracemalloc.Snapshot:
    running.process.send_signal(signal.SIGUSR1)
    target = Path(f"{path}.{number}")
    deadline = time.monotonic() + 120
    # The server writes it in its signal handler: there is no event to await.
    while not await asyncio.to_thread(target.exists):
        if time.monotonic() > deadline:
            raise RuntimeError("no snapshot from the server")
        await asyncio.sleep(0.2)
    snapshot = await asyncio.to_thread(tracemalloc.Snapshot.load, str(target))
    return snapshot.filter_traces([tracemalloc.Filter(False, tracemalloc.__file__)])


async def measure(args: argparse.Namespace) -> None:
    with harness.database(durable=False) as url, tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "snapshot"
        command = [sys.executable, "-m", "bench.connection_memory", "--serve", "serve", "--no-migrate"]
        settings = {"SNAPSHOT_PATH": str(path), "TRACE_FRAMES": str(args.frames)}
        with harness.service(url, command=command, settings=settings) as running:
            async with harness.http_client(running.http, 1) as client:
                await harness.send_at_rate(client, workload.JIRA, 1, 1, start=10_000_000)
            await asyncio.sleep(_SETTLE_SECONDS)
            before, pss_before = await _snapshot(running, path, 0), running.pss_kib()
            harness.DEFLATE = args.deflate
            async with harness.Subscribers(running.ws, args.subscribers, processes=2):
                await asyncio.sleep(_SETTLE_SECONDS)
                after, pss_after = await _snapshot(running, path, 1), running.pss_kib()
    n = args.subscribers
    print(f"{n} idle connections{' offering permessage-deflate' if args.deflate else ''}")
    traced = sum(s.size_diff for s in after.compare_to(before, "filename"))
    print(f"PSS growth {(pss_after - pss_before) / n:.2f} KiB per connection; traced {traced / n / 1024:.2f} KiB")
    print("\nby file (bytes and blocks per connection):")
    for stat in after.compare_to(before, "filename")[:15]:
        print(f"  {stat.size_diff / n:8.0f} B {stat.count_diff / n:6.2f}  {_short(stat.traceback[0].filename)}")
    print(f"\nby source line (bytes and blocks per connection), top {args.top}:")
    for stat in after.compare_to(before, "lineno")[: args.top]:
        frame = stat.traceback[0]
        print(f"  {stat.size_diff / n:8.0f} B {stat.count_diff / n:6.2f}  {_short(frame.filename)}:{frame.lineno}")
    print(f"\nby call path, top {args.top // 2}:")
    for stat in after.compare_to(before, "traceback")[: args.top // 2]:
        print(f"  {stat.size_diff / n:8.0f} B {stat.count_diff / n:6.2f}")
        for frame in stat.traceback[: args.frames]:
            print(f"      {_short(frame.filename)}:{frame.lineno}")


def _short(filename: str) -> str:
    return filename.split("site-packages/")[-1].removeprefix(f"{harness.ROOT}/")


def main() -> None:
    if len(sys.argv) > 1 and sys.argv[1] == "--serve":
        serve_traced(sys.argv[2:])
        return
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--subscribers", type=int, default=2000)
    p.add_argument("--top", type=int, default=30)
    p.add_argument("--frames", type=int, default=6, help="frames kept per allocation")
    p.add_argument("--deflate", action="store_true", help="the clients offer permessage-deflate (as browsers do)")
    uvloop.run(measure(p.parse_args()))


if __name__ == "__main__":
    main()
