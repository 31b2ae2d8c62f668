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
- where the steady phase's time goes, hop by hop, as means (ms) from each
  role's /metrics (histogram sums over counts, from the event's `created_at`,
  its ingest transaction, on one host's clock) and the subscribers' latencies:
  `mean_ms` (webhook sent to message received); `hop_read_ms` (created to the
  log read that feeds the hubs: the socket processes' listeners, or the
  relay's); `hop_stream_ms` (that read to an edge taking the event from the
  stream: the relay's XADD, Redis, the edge's XREAD; broker only);
  `hop_hub_ms` (the hub fed to the event written to every socket, waiting
  for the batch before it included); `fan_out_ms` (one batch offered to every
  socket, the hub's own time). A subscriber gets an event during its
  fan-out, so `mean_ms` may be below created-to-written. And where a tail
  begins: `read_p99_ms`, `took_p99_ms` (broker only), `wrote_p99_ms`, the
  p99 of created to each stamp, to the bound of its histogram bucket.

Every subscriber must hold every message, in order, once (else the run fails).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import uvloop
from prometheus_client.parser import text_string_to_metric_families

from bench import harness, workload
from bench.subscriber_pool import BUCKET_NS
from bench.workload import JIRA, Figures, Outcome
from tests.support.redis import redis_server

_READS = "ops_bridge_event_log_reads_total"
# Histograms timed from an event's created_at: to a listener's read of the log, to an edge's
# read of the stream, and to the hub having written it to every socket.
_READ, _TOOK, _WROTE = (
    "ops_bridge_listener_lag_seconds",
    "ops_bridge_broker_lag_seconds",
    "ops_bridge_webhook_to_socket_seconds",
)
_FAN_OUT = "ops_bridge_fan_out_seconds"


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


@dataclass
class _Scrape:
    """What the fleet's /metrics say at one moment: counters and histogram totals."""

    reads: float
    # By histogram name, over the processes that feed subscribers (except _READ with a broker: the
    # relay's, the only listener): (sum of seconds, count), and the cumulative count by bucket bound.
    timed: dict[str, tuple[float, float]]
    buckets: dict[str, dict[float, float]]

    def mean_ms(self, since: _Scrape, name: str) -> float | None:
        total, count = (a - b for a, b in zip(self.timed[name], since.timed[name], strict=True))
        return total / count * 1000 if count else None

    def p99_ms(self, since: _Scrape, name: str) -> float | None:
        """The bound of the histogram bucket that holds the 99th percentile: coarse (1, 2.5, 5,
        10, 25, 50, 100, 250 ms...), enough to say which hop a tail comes from."""
        counts = {le: n - since.buckets[name].get(le, 0.0) for le, n in self.buckets[name].items()}
        total = counts.get(float("inf"), 0.0)
        if not total:
            return None
        return next(le * 1000 for le, n in sorted(counts.items()) if n >= 0.99 * total)


def _scrape(processes: list[harness.Service], sockets: int, mode: str) -> _Scrape:
    reads = 0.0
    timed = dict.fromkeys((_READ, _TOOK, _WROTE, _FAN_OUT), (0.0, 0.0))
    buckets: dict[str, dict[float, float]] = {name: {} for name in timed}
    for index, process in enumerate(processes):
        text = httpx.get(f"{process.http}/metrics", timeout=5).text
        for family in text_string_to_metric_families(text):
            reads += sum(s.value for s in family.samples if s.name == _READS)
            fed_here = index < sockets or (family.name == _READ and mode == "broker")
            if family.name not in timed or not fed_here:
                continue
            total, count = timed[family.name]
            for sample in family.samples:
                if sample.name.endswith("_sum"):
                    total += sample.value
                elif sample.name.endswith("_count"):
                    count += sample.value
                elif sample.name.endswith("_bucket"):
                    le = float(sample.labels["le"])
                    buckets[family.name][le] = buckets[family.name].get(le, 0.0) + sample.value
            timed[family.name] = (total, count)
    return _Scrape(reads, timed, buckets)


def _hops(mode: str, before: _Scrape, after: _Scrape) -> Figures:
    """Where the steady phase's time went: created->read, read->edge, fed->written, and the fan-out;
    and in which hop the tail begins (each stamp's p99, to its histogram's bucket)."""
    read, took, wrote, fan_out = (after.mean_ms(before, name) for name in (_READ, _TOOK, _WROTE, _FAN_OUT))
    if read is None or wrote is None or fan_out is None or (mode == "broker" and took is None):
        return {}
    fed = took if mode == "broker" and took is not None else read
    hops: Figures = {"hop_read_ms": read, "hop_hub_ms": wrote - fed, "fan_out_ms": fan_out}
    if mode == "broker":
        hops["hop_stream_ms"] = fed - read
    stamps = {"read_p99_ms": _READ, "wrote_p99_ms": _WROTE, **({"took_p99_ms": _TOOK} if mode == "broker" else {})}
    for key, name in stamps.items():
        bound = after.p99_ms(before, name)
        if bound is not None:
            hops[key] = bound
    return hops


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
            before = _scrape(processes, edges, mode)
            accepted = await harness.send_at_rate(client, JIRA, args.rate, args.count, start=args.warm_up)
            steady = await _delivered(pools, warm + accepted)
            after = _scrape(processes, edges, mode)
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
        "log_reads_per_event": (after.reads - before.reads) / max(accepted, 1),
        "mean_ms": _mean_ms(histogram),
        **_hops(mode, before, after),
    }


def _mean_ms(histogram: harness.Histogram) -> float:
    """The mean latency, each message counted at the middle of its 0.1 ms bucket."""
    total = histogram.total
    return sum((bucket + 0.5) * n for bucket, n in histogram.counts.items()) * BUCKET_NS / 1e6 / max(total, 1)


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
