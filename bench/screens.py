"""Ten thousand screens: 10,000 subscribers on one `ops-bridge serve` process,
each receiving 5 events a second; memory per idle connection beside a bare
`websockets` server's, measured in the same invocation.

    python -m bench.screens [--runs 3] [--subscribers 10000] [--rate 5] [--seconds 20]

Each run starts the service afresh (one worker) and:

1. **Memory**: one webhook first (so what every first request allocates is in
   both readings), then the server's PSS with no subscriber, then with
   `--subscribers` connected and idle for a few seconds; the difference over
   their number is KiB per idle connection. The bare `websockets` server
   (bench/bare_ws.py, uvloop, no compression negotiated: the same clients)
   is weighed the same way with as many connections: the issue's reference.
   No collection is forced in the service (it has no hook for one); the
   tracemalloc diagnosis, which collects first, finds nearly the same per
   connection (bench/connection_memory.py, docs/performance.md).
2. **Delivery**: Jira webhooks posted at a steady `--rate` per second for
   `--seconds`, each event reaching every subscriber; latency is from the
   poster's send time (written into the webhook) to the read that brought the
   message, for every message at every subscriber (p50, p99, max). Every
   subscriber must hold every event, with event positions gapless and in
   order. The CPU the service, PostgreSQL and the subscriber clients spent
   meanwhile says what limits it.

The process's RLIMIT_NOFILE is raised to its hard limit first: the server
inherits it, and 10,000 sockets exceed the usual soft limit of 1,024.
"""

from __future__ import annotations

import argparse
import asyncio
import resource

from bench import ceilings, cputime, harness, storm, workload
from bench.workload import Context, Figures, Target

_SETTLE_SECONDS = 3.0


def raise_file_limit(needed: int) -> None:
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < hard:
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    if hard != resource.RLIM_INFINITY and hard < needed:
        raise SystemExit(f"RLIMIT_NOFILE's hard limit {hard} is below the {needed} descriptors needed")


async def one_run(target: Target, context: Context, args: argparse.Namespace) -> Figures:
    figures = await _ours(target, context, args)
    if not args.no_bare:
        figures |= await _bare(args)
        figures["kib_per_idle_vs_bare"] = figures["kib_per_idle_connection"] / figures["bare_kib_per_idle_connection"]
    return figures


async def _ours(target: Target, context: Context, args: argparse.Namespace) -> Figures:
    with workload.started(target, context) as running:
        async with harness.http_client(running.http, 4) as client:
            await harness.send_at_rate(client, workload.JIRA, 1, 1, start=10_000_000)
            await asyncio.sleep(_SETTLE_SECONDS)
            before = running.pss_kib()
            pools = args.pools or 4
            async with harness.Subscribers(running.ws, args.subscribers, processes=pools) as subscribers:
                await asyncio.sleep(_SETTLE_SECONDS)
                after = running.pss_kib()
                count = round(args.rate * args.seconds)
                meter = cputime.Meter(
                    {
                        "service": [running.process.pid],
                        "PostgreSQL": [storm.postmaster(context.ours)],
                        "subscriber clients": [child.pid for child in subscribers.children],
                    }
                )
                accepted = await harness.send_at_rate(client, workload.JIRA, args.rate, count)
                if accepted != count:
                    raise RuntimeError(f"{count - accepted} of {count} webhooks refused")
                delivery = await workload.check_delivered(subscribers, count, timeout=120, in_order=True)
                spent = meter.stop()
    context.notes.append(
        f"{args.subscribers} screens at {args.rate:g}/s: p99 {delivery.histogram.percentile_ms(99):.0f} ms; "
        f"CPU over {args.seconds:g} s of sending: {meter.describe()}"
    )
    return {
        "kib_per_idle_connection": (after - before) / args.subscribers,
        "p50_ms": delivery.histogram.percentile_ms(50),
        "p99_ms": delivery.histogram.percentile_ms(99),
        "max_ms": delivery.histogram.percentile_ms(100),
        "deliveries_per_s": args.rate * args.subscribers,
        "cpu_service_s": spent["service"].total,
        "cpu_clients_s": spent["subscriber clients"].total,
        "cpu_other_s": spent["other"].total,
    }


async def _bare(args: argparse.Namespace) -> Figures:
    """The bare `websockets` server's KiB per idle connection, with as many connections."""
    with ceilings.bare_server() as (process, port):
        await asyncio.sleep(1)
        idle = harness.Service(process, port).pss_kib()
        async with harness.Subscribers(f"ws://127.0.0.1:{port}/", args.subscribers, processes=args.pools or 4):
            await asyncio.sleep(_SETTLE_SECONDS)
            connected = harness.Service(process, port).pss_kib()
    return {"bare_kib_per_idle_connection": (connected - idle) / args.subscribers}


def configure(p: argparse.ArgumentParser) -> None:
    p.add_argument("--subscribers", type=int, default=10_000)
    p.add_argument("--rate", type=float, default=5.0, help="events per second, each to every subscriber")
    p.add_argument("--seconds", type=float, default=20.0, help="how long they are sent")
    p.add_argument("--no-bare", action="store_true", help="skip the bare websockets server's memory")
    p.set_defaults(no_reference=True)


RATIOS: list[tuple[str, str, str]] = []

if __name__ == "__main__":
    raise_file_limit(needed=12_000)
    workload.main(__doc__, "screens", one_run, configure, RATIOS)
