"""The broker's roles beside PostgreSQL only, with the same number of `serve` processes.

    python -m bench.broker [--runs 3] [--edges 1,2,4] [--subscribers 1000] [--rate 20]

For each N in --edges, two fleets, alternately (which goes first alternates too):

- **broker**: Redis (Debian's redis-server, tests/support/redis.py), 1 relay,
  1 ingest and N edges (`ROLE=...`): N+2 processes;
- **postgres**: N+2 processes of `ROLE=all` (today's mode).

The subscribers are spread evenly over N processes (the edges; the first N of
the PostgreSQL-only fleet) and the webhooks go to one other process (the
ingest; the (N+1)th), so both fleets serve the same sockets from the same
number of processes and take webhooks the same way. Each run measures:

- `p50_ms`, `p99_ms`: webhook sent to message received, every message at every
  subscriber, at a steady --rate (after a warm-up);
- `deliveries_per_s`: --burst webhooks sent flat out from 16 connections, the
  deliveries they make (webhooks × subscribers) over the time from the first
  send to the last arrival;
- `log_reads_per_event`: the event-log reads for live events (the
  `ops_bridge_event_log_reads_total` counters of every process) per webhook
  accepted: the PostgreSQL-only fleet reads once per process per commit batch,
  the broker fleet once (the relay's).

Every subscriber must hold every message, in order, once (else the run fails).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import uvloop
from prometheus_client.parser import text_string_to_metric_families

from bench import harness, workload
from bench.workload import JIRA, Figures, Outcome
from tests.support.redis import redis_server

_READS = "ops_bridge_event_log_reads_total"


@contextlib.contextmanager
def _fleet(database_url: str, mode: str, edges: int, broker_url: str) -> Iterator[list[harness.Service]]:
    """The processes, subscribers' first and the webhooks' next: [sockets..., webhooks, rest...]."""
    roles = ["relay", *(["edge"] * edges), "ingest"] if mode == "broker" else ["all"] * (edges + 2)
    settings = {"BROKER_URL": broker_url} if mode == "broker" else {}
    with contextlib.ExitStack() as stack:
        started = [stack.enter_context(harness.service(database_url, settings={**settings, "ROLE": r})) for r in roles]
        if mode == "broker":
            started = [*started[1:], started[0]]  # the relay last: edges, then the ingest
        yield started


def _log_reads(processes: list[harness.Service]) -> float:
    total = 0.0
    for process in processes:
        text = httpx.get(f"{process.http}/metrics", timeout=5).text
        for family in text_string_to_metric_families(text):
            total += sum(s.value for s in family.samples if s.name == _READS)
    return total


async def one_run(mode: str, edges: int, database_url: str, broker_url: str, args: argparse.Namespace) -> Figures:
    harness.reset(database_url)
    with _fleet(database_url, mode, edges, broker_url) as processes:
        sockets, webhooks = processes[:edges], processes[edges]
        per = args.subscribers // edges
        async with contextlib.AsyncExitStack() as stack:
            pools = [
                await stack.enter_async_context(harness.Subscribers(p.ws, per, processes=workload.pools_for(per)))
                for p in sockets
            ]
            client = await stack.enter_async_context(harness.http_client(webhooks.http, 16))
            warm = await harness.send_at_rate(client, JIRA, args.rate, args.warm_up)
            await _delivered(pools, warm)
            reads_before = _log_reads(processes)
            accepted = await harness.send_at_rate(client, JIRA, args.rate, args.count, start=args.warm_up)
            steady = await _delivered(pools, warm + accepted)
            reads = _log_reads(processes) - reads_before
            began_ns = time.monotonic_ns()
            burst, _ = await harness.send_flat_out(
                client, JIRA, args.burst_seconds, 16, start=args.warm_up + args.count
            )
            flat = await _delivered(pools, warm + accepted + burst)
    histogram = harness.Histogram.merge({str(k): n for k, n in d.histogram.counts.items()} for d in steady)
    last_ns = max(d.last_arrival_ns for d in flat)
    return {
        "p50_ms": histogram.percentile_ms(50),
        "p99_ms": histogram.percentile_ms(99),
        "deliveries_per_s": burst * per * edges / ((last_ns - began_ns) / 1e9),
        "log_reads_per_event": reads / max(accepted, 1),
    }


async def _delivered(pools: list[harness.Subscribers], expected: int) -> list[harness.Delivery]:
    return list(await asyncio.gather(*(workload.check_delivered(p, expected, in_order=True) for p in pools)))


async def run_all(args: argparse.Namespace) -> Outcome:
    params = {k: (str(v) if isinstance(v, Path) else v) for k, v in vars(args).items() if k != "json"}
    outcome = Outcome("broker", params)
    with harness.database() as url, redis_server() as redis:
        for edges in (int(n) for n in str(args.edges).split(",")):
            order = ["broker", "postgres"]
            for run in range(args.runs):
                for mode in order if run % 2 == 0 else order[::-1]:
                    redis.restart()  # an empty stream for every run
                    label = f"{mode}, {edges} socket process{'es' if edges > 1 else ''}"
                    await workload._one(outcome, label, one_run(mode, edges, url, redis.url, args), run)
    return outcome


def _ratios(outcome: Outcome) -> list[str]:
    medians = outcome.medians()
    lines = []
    for label, figures in medians.items():
        if not label.startswith("broker"):
            continue
        other = medians.get(label.replace("broker", "postgres", 1), {})
        if other.get("p99_ms") and other.get("deliveries_per_s"):
            lines.append(
                f"  {label}: p99 {figures['p99_ms'] - other['p99_ms']:+.1f} ms vs postgres only, "
                f"deliveries/s x{figures['deliveries_per_s'] / other['deliveries_per_s']:.2f}"
            )
    return lines


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--runs", type=int, default=3, help="runs of each fleet, alternating (default 3)")
    p.add_argument("--edges", default="1,2,4", help="socket processes, comma-separated (default 1,2,4)")
    p.add_argument("--subscribers", type=int, default=1000, help="in all, spread over the socket processes")
    p.add_argument("--rate", type=float, default=20.0, help="webhooks/s for the latency figures")
    p.add_argument("--count", type=int, default=200, help="webhooks measured at --rate")
    p.add_argument("--warm-up", type=int, default=20, help="webhooks sent first, not measured")
    p.add_argument("--burst-seconds", type=float, default=3.0, help="seconds of flat-out sending for deliveries/s")
    p.add_argument("--json", type=Path, help="also write the figures here (bench.all reads them)")
    p.add_argument("--workers", default="1", help="accepted for bench.all; each process has one worker")
    args = p.parse_args()
    outcome = uvloop.run(run_all(args))
    print(workload.report(outcome, []), flush=True)
    print("\n".join(_ratios(outcome)), flush=True)
    if args.json:
        result: dict[str, Any] = outcome.to_json()
        args.json.write_text(json.dumps(result, indent=2))
    if outcome.failures:
        raise SystemExit(1)


if __name__ == "__main__":
    main()
