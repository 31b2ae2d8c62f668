"""Fan-out: the sustained webhook rate with 1,000 subscribers, beside the bare
`websockets` broadcast ceiling measured in the same run.

    python -m bench.fanout [--runs 3] [--workers 1,2] [--subscribers 1000]

Sustained rate: the highest steady offered rate at which every subscriber
receives every message without falling behind (bench/README.md gives the exact
rule and the search). Deliveries per second: that rate times the subscribers.
"""

from __future__ import annotations

import argparse

from bench import ceilings, harness, workload
from bench.workload import Context, Figures, Target


async def one_run(target: Target, context: Context, args: argparse.Namespace) -> Figures:
    pools = args.pools or workload.pools_for(args.subscribers)
    with workload.started(target, context) as running:
        async with harness.Subscribers(running.ws, args.subscribers, processes=pools) as subscribers:
            found = await workload.sustained(running, subscribers, args, f"fanout {target.label}", context)
    return {
        "sustained_per_s": found.rate,
        "deliveries_per_s": found.rate * args.subscribers,
        "p99_ms_at_sustained": found.p99_ms,
    }


async def ceiling(_: Context, args: argparse.Namespace) -> Figures:
    figures = await ceilings.websockets_broadcast(args.subscribers, args.frames, workload.pools_for(args.subscribers))
    return {"frames_per_s": figures["frames_per_s"]}


def configure(p: argparse.ArgumentParser) -> None:
    workload.add_search_options(p, subscribers=1000, start_rate=20)
    p.add_argument("--frames", type=int, default=400, help="frames per subscriber for the websockets ceiling")


RATIOS = [
    ("sustained webhooks/s vs reference", "sustained_per_s", "reference"),
    ("deliveries/s vs bare websockets ceiling", "deliveries_per_s", "ceilings:frames_per_s"),
]

if __name__ == "__main__":
    workload.main(__doc__, "fanout", one_run, configure, RATIOS, ceiling, "ceilings")
