"""Scale: 5,000 subscribers. Server memory per idle connection, then the
sustained webhook rate (as bench.fanout defines it).

    python -m bench.scale [--runs 3] [--workers 1,2] [--subscribers 5000]

Memory per idle connection: the PSS summed over the server's processes with
the subscribers connected and idle, minus before they connected, over their
number (PSS, so that two workers' shared pages are not counted twice).
"""

from __future__ import annotations

import argparse
import asyncio

from bench import harness, workload
from bench.workload import Context, Figures, Target

_SETTLE_SECONDS = 2.0


async def one_run(target: Target, context: Context, args: argparse.Namespace) -> Figures:
    with workload.started(target, context) as running:
        # One webhook first, so the memory every first request allocates is in both readings.
        async with harness.http_client(running.http, 1) as client:
            await harness.send_at_rate(client, workload.JIRA, 1, 1, start=10_000_000)
        await asyncio.sleep(_SETTLE_SECONDS)
        before = running.pss_kib()
        pools = args.pools or workload.pools_for(args.subscribers)
        async with harness.Subscribers(running.ws, args.subscribers, processes=pools) as subscribers:
            await asyncio.sleep(_SETTLE_SECONDS)
            after = running.pss_kib()
            found = await workload.sustained(running, subscribers, args, f"scale {target.label}", context)
    return {
        "kib_per_idle_connection": (after - before) / args.subscribers,
        "sustained_per_s": found.rate,
        "deliveries_per_s": found.rate * args.subscribers,
        "p99_ms_at_sustained": found.p99_ms,
    }


def configure(p: argparse.ArgumentParser) -> None:
    workload.add_search_options(p, subscribers=5000, start_rate=5)


RATIOS = [
    ("sustained webhooks/s vs reference", "sustained_per_s", "reference"),
    ("KiB per idle connection vs reference", "kib_per_idle_connection", "reference"),
]

if __name__ == "__main__":
    workload.main(__doc__, "scale", one_run, configure, RATIOS)
