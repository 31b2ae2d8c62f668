"""Behind PgBouncer in transaction mode: webhook-to-socket latency, direct against pooled.

    python -m bench.pooler [--runs 3] [--subscribers 100] [--rate 20] [--count 200]

Three ways to connect the same service to the same cluster, run alternately
(which goes first alternates too): `direct` (DATABASE_URL to PostgreSQL);
`pooled, LISTEN direct` (DATABASE_URL through PgBouncer 1.18 in
`pool_mode=transaction`, DATABASE_LISTEN_URL to PostgreSQL: the recommended
set-up); `pooled, LISTEN pooled` (DATABASE_LISTEN_URL unset: no NOTIFY ever
arrives, events come by the listener's 1 s timer). Each run starts the service
afresh, connects the subscribers, sends a warm-up, then `--count` webhooks at a
steady `--rate`, and takes the send-to-arrival latency of every message at
every subscriber. PgBouncer is Debian's /usr/sbin/pgbouncer, started as the
test suite starts it (tests/support/pgbouncer.py).
"""

from __future__ import annotations

import argparse
import contextlib

import uvloop

from bench import harness, workload
from bench.workload import JIRA
from tests.support.pgbouncer import pgbouncer

MODES = ("direct", "pooled, LISTEN direct", "pooled, LISTEN pooled")


def _settings(mode: str, direct: str, pooled: str) -> dict[str, str]:
    if mode == "direct":
        return {}
    if mode == "pooled, LISTEN direct":
        return {"DATABASE_URL": pooled, "DATABASE_LISTEN_URL": direct}
    return {"DATABASE_URL": pooled}


async def _one_run(direct: str, settings: dict[str, str], args: argparse.Namespace) -> dict[str, float]:
    harness.reset(direct)
    with harness.service(direct, settings=settings) as running:
        async with (
            harness.Subscribers(running.ws, args.subscribers) as subscribers,
            harness.http_client(running.http, 16) as client,
        ):
            warm = await harness.send_at_rate(client, JIRA, args.rate, args.warm_up)
            await workload.check_delivered(subscribers, warm)
            accepted = await harness.send_at_rate(client, JIRA, args.rate, args.count, start=args.warm_up)
            delivery = await workload.check_delivered(subscribers, warm + accepted)
    return {"p50_ms": delivery.histogram.percentile_ms(50), "p99_ms": delivery.histogram.percentile_ms(99)}


async def _main(args: argparse.Namespace) -> None:
    runs: dict[str, list[dict[str, float]]] = {mode: [] for mode in MODES}
    with harness.database() as direct, pgbouncer(direct) as pooler:
        pooled = pooler.url(direct)
        for run in range(args.runs):
            for mode in MODES if run % 2 == 0 else MODES[::-1]:
                figures = await _one_run(direct, _settings(mode, direct, pooled), args)
                runs[mode].append(figures)
                print(f"run {run + 1} {mode}: " + ", ".join(f"{k}={v:.1f}" for k, v in figures.items()), flush=True)
    print(f"\npooler: medians of {args.runs} runs ({args.subscribers} subscribers, {args.rate:g} webhooks/s)")
    for mode, measured in runs.items():
        medians = {key: harness.median([run[key] for run in measured]) for key in measured[0]}
        print(f"  {mode:24} " + "  ".join(f"{key} {value:8.1f}" for key, value in medians.items()))


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--runs", type=int, default=3)
    p.add_argument("--subscribers", type=int, default=100)
    p.add_argument("--rate", type=float, default=20.0, help="webhooks/s")
    p.add_argument("--count", type=int, default=200, help="webhooks measured")
    p.add_argument("--warm-up", type=int, default=20, help="webhooks sent first, not measured")
    with contextlib.suppress(KeyboardInterrupt):
        uvloop.run(_main(p.parse_args()))


if __name__ == "__main__":
    main()
