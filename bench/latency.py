"""Latency: webhook sent to message received, with 1,000 subscribers at a steady 20 webhooks/s.

    python -m bench.latency [--runs 3] [--workers 1,2] [--subscribers 1000] [--rate 20]

Each run starts the target afresh, connects the subscribers, sends a warm-up
(not measured), then `--count` webhooks at a steady `--rate`. The sender
writes CLOCK_MONOTONIC into each webhook; each subscriber subtracts it from
the arrival time, for every message at every subscriber. Every subscriber must
hold every message (a run that loses one fails).
"""

from __future__ import annotations

import argparse

from bench import harness, workload
from bench.workload import JIRA, Context, Figures, Target


async def one_run(target: Target, context: Context, args: argparse.Namespace) -> Figures:
    pools = args.pools or workload.pools_for(args.subscribers)
    with workload.started(target, context) as running:
        async with (
            harness.Subscribers(running.ws, args.subscribers, processes=pools) as subscribers,
            harness.http_client(running.http, 16) as client,
        ):
            warm = await harness.send_at_rate(client, JIRA, args.rate, args.warm_up)
            await workload.check_delivered(subscribers, warm)
            accepted = await harness.send_at_rate(client, JIRA, args.rate, args.count, start=args.warm_up)
            delivery = await workload.check_delivered(subscribers, warm + accepted)
    return {
        "p50_ms": delivery.histogram.percentile_ms(50),
        "p99_ms": delivery.histogram.percentile_ms(99),
        "max_ms": delivery.histogram.percentile_ms(100),
    }


def configure(p: argparse.ArgumentParser) -> None:
    p.add_argument("--subscribers", type=int, default=1000)
    p.add_argument("--rate", type=float, default=20.0, help="webhooks/s")
    p.add_argument("--count", type=int, default=200, help="webhooks measured")
    p.add_argument("--warm-up", type=int, default=20, help="webhooks sent first, not measured")


RATIOS = [("p99 vs reference", "p99_ms", "reference"), ("p50 vs reference", "p50_ms", "reference")]

if __name__ == "__main__":
    workload.main(__doc__, "latency", one_run, configure, RATIOS)
