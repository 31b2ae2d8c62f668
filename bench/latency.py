"""Webhook-to-socket latency and the sustained webhook rate, with 100 subscribers.

    python -m bench.latency [--subscribers 100] [--rate 20] [--runs 3]

Each run starts from an empty event log. Latency: webhooks at a steady rate,
each one's send-to-arrival time at every subscriber. Sustained rate: 16
senders post as fast as the service accepts for a few seconds, and every
subscriber must then hold every event (a run that loses one fails).
"""

from __future__ import annotations

import argparse
import asyncio

from bench import harness


async def one_run(url: str, args: argparse.Namespace) -> dict[str, float]:
    harness.reset(url)
    with harness.service(url) as running:
        async with (
            harness.Subscribers(running.ws, args.subscribers, processes=args.pools) as pool,
            harness.http_client(running.http, 16) as client,
        ):
            accepted = await harness.send_at_rate(client, "/api/webhooks/jira", args.rate, args.latency_count)
            latency = await pool.collect(accepted, timeout=60)
            lost = accepted * args.subscribers - latency["received"]
            flat, elapsed = await harness.send_flat_out(
                client, "/api/webhooks/jira", args.seconds, 16, start=args.latency_count
            )
            totals = await pool.collect(accepted + flat, timeout=120)
            lost += (accepted + flat) * args.subscribers - totals["received"]
    if lost or totals["duplicates"]:
        raise SystemExit(f"FAILED: {lost} deliveries lost, {totals['duplicates']} duplicated")
    return {
        "p50_ms": harness.percentile(latency["latencies_ms"], 50),
        "p99_ms": harness.percentile(latency["latencies_ms"], 99),
        "sustained_per_s": flat / elapsed,
    }


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--subscribers", type=int, default=100)
    parser.add_argument("--pools", type=int, default=1, help="subscriber processes")
    parser.add_argument("--rate", type=float, default=20.0, help="webhooks/s for the latency phase")
    parser.add_argument("--latency-count", type=int, default=200)
    parser.add_argument("--seconds", type=float, default=5.0, help="length of the flat-out phase")
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    results = []
    with harness.database() as url:
        for run in range(args.runs):
            result = await one_run(url, args)
            results.append(result)
            print(f"run {run + 1}: " + ", ".join(f"{k}={v:.1f}" for k, v in result.items()), flush=True)
    print(f"\n{args.subscribers} subscribers, median of {args.runs} runs:")
    for key in results[0]:
        print(f"  {key:16} {harness.median([r[key] for r in results]):10.1f}")


if __name__ == "__main__":
    asyncio.run(main())
