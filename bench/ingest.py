"""Ingest: webhooks accepted per second with 10 subscribers and 16 concurrent senders.

    python -m bench.ingest [--runs 3] [--workers 1,2] [--seconds 5]

Each run starts the target afresh on an empty database, connects 10
subscribers, posts a short warm-up, then 16 senders (one keep-alive connection
each) post Jira deliveries as fast as they are answered for `--seconds`.
Accepted per second is 200 answers over the elapsed time; afterwards every
subscriber must hold every accepted webhook's message (a run that loses one
fails). PostgreSQL's own INSERT+NOTIFY ceiling (bench.ceilings) is measured in
the same run, between the targets.
"""

from __future__ import annotations

import argparse

from bench import ceilings, harness, workload
from bench.workload import JIRA, Context, Figures, Target

_WARM_UP = 50


async def one_run(target: Target, context: Context, args: argparse.Namespace) -> Figures:
    with workload.started(target, context) as running:
        async with (
            harness.Subscribers(running.ws, args.subscribers, processes=1) as subscribers,
            harness.http_client(running.http, args.senders) as client,
        ):
            warm = await harness.send_at_rate(client, JIRA, 200, _WARM_UP)
            accepted, elapsed = await harness.send_flat_out(client, JIRA, args.seconds, args.senders, start=_WARM_UP)
            await workload.check_delivered(subscribers, warm + accepted, timeout=300)
    return {"accepted_per_s": accepted / elapsed}


def configure(p: argparse.ArgumentParser) -> None:
    p.add_argument("--subscribers", type=int, default=10)
    p.add_argument("--senders", type=int, default=16)
    p.add_argument("--seconds", type=float, default=10.0)
    p.add_argument("--pg-seconds", type=float, default=5.0)


RATIOS = [
    ("accepted/s vs reference", "accepted_per_s", "reference"),
    ("accepted/s vs PostgreSQL INSERT+NOTIFY, 8 connections", "accepted_per_s", "ceilings:pg_commits_per_s_8conn"),
    ("accepted/s vs PostgreSQL INSERT+NOTIFY, 1 connection", "accepted_per_s", "ceilings:pg_commits_per_s_1conn"),
]

if __name__ == "__main__":
    workload.main(__doc__, "ingest", one_run, configure, RATIOS, ceilings.postgres, "ceilings")
