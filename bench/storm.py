"""Alert storm: one Alertmanager notification of 5,000 alerts (about 5 MB) with
1,000 subscribers, and alerts accepted per second when 8 senders post groups of 100.

    python -m bench.storm [--runs 3] [--workers 1] [--subscribers 1000] [--alerts 5000]

Each run starts the target afresh and measures two things:

1. **Groups** (beside the Jira ingest figure): 10 subscribers connected, 8
   senders (one keep-alive connection each) post Alertmanager notifications of
   `--group` new alerts as fast as they are answered for `--seconds`. Alerts
   accepted per second is 100 × the 200 answers over the elapsed time; every
   subscriber must then hold every accepted alert's message.
2. **Storm**: `--subscribers` subscribers connected, one notification of
   `--alerts` new alerts (each about 1 KB, as kube-prometheus alerts are) is
   posted. Figures: how long the answer took, and from the answer to the last
   alert on the last screen (the target: every alert on every screen within
   5 s of the answer), with the CPU the service, PostgreSQL, the subscriber
   clients and the rest of the machine spent meanwhile. Every subscriber must
   hold every alert, its event positions gapless and in order.
   `--max-buffered` runs it with another WS_MAX_BUFFERED_BYTES (the service's
   default, 1 MiB, shows whether subscribers are closed as slow).

Each alert's summary carries the benchmark marker (`bench <sent_ns> <index>`),
and alert messages carry their summary, so the subscriber pools count and time
them as they do Jira messages. The reference (bench/reference/app.py) gets an
Alertmanager endpoint written the usual way (a row and a publication per
alert); it runs the groups workload only: at its measured fan-out (about
25,000 deliveries a second) the storm's 5,000,000 deliveries would take minutes,
queued in memory per subscriber.
"""

from __future__ import annotations

import argparse
import asyncio
import time
from pathlib import Path
from typing import Any

import orjson
import psycopg

from bench import cputime, harness, workload
from bench.loadgen import Pool
from bench.workload import Context, Figures, Target

ALERTMANAGER = "/api/webhooks/alertmanager"
_WARM_UP = 100
# The send time goes in after the body is built: a fixed-width placeholder.
_PLACEHOLDER = b"bench 0000000000000000000 "


def group_body(start: int, count: int, sent_ns: int | None = None) -> bytes:
    """An Alertmanager (version 4) notification of `count` new alerts, indexes from `start`."""
    alerts = [_alert(index) for index in range(start, start + count)]
    body = orjson.dumps(
        {
            "receiver": "ops-bridge", "status": "firing", "alerts": alerts,
            "groupLabels": {"alertname": "KubePodCrashLooping"},
            "commonLabels": {"alertname": "KubePodCrashLooping", "namespace": "shop", "severity": "critical"},
            "commonAnnotations": {}, "externalURL": "http://alertmanager.monitoring:9093", "version": "4",
            "groupKey": '{}:{alertname="KubePodCrashLooping"}', "truncatedAlerts": 0,
        }
    )  # fmt: skip
    stamp = b"bench %019d " % (time.monotonic_ns() if sent_ns is None else sent_ns)
    return body.replace(_PLACEHOLDER, stamp)


def _alert(index: int) -> dict[str, Any]:
    """About 1 KB, like a kube-prometheus alert; its summary carries the marker."""
    pod = f"checkout-api-7d9f8b6c4-{index:07d}"
    return {
        "status": "firing",
        "labels": {
            "alertname": "KubePodCrashLooping", "namespace": "shop", "pod": pod, "container": "checkout-api",
            "instance": f"10.42.{index // 250 % 250}.{index % 250}:8080", "job": "kube-state-metrics",
            "service": "kube-prometheus-stack-kube-state-metrics", "severity": "critical", "env": "prod",
            "squad": "checkout", "cluster": "eu-west-1-prod",
        },
        "annotations": {
            "summary": _PLACEHOLDER.decode() + str(index),
            "description": f"Pod shop/{pod} (checkout-api) is in waiting state (reason: CrashLoopBackOff) for "
            "longer than 15 minutes. Its last termination was OOMKilled with exit code 137.",
            "runbook_url": "https://runbooks.prometheus-operator.dev/runbooks/kubernetes/kubepodcrashlooping",
        },
        "startsAt": "2025-01-17T10:00:00.000Z", "endsAt": "0001-01-01T00:00:00Z",
        "generatorURL": "http://prometheus.monitoring:9090/graph?g0.expr=kube_pod_container_status_waiting",
        "fingerprint": f"{index:016x}",
    }  # fmt: skip


async def one_run(target: Target, context: Context, args: argparse.Namespace) -> Figures:
    settings = {"WS_MAX_BUFFERED_BYTES": str(args.max_buffered)} if args.max_buffered else None
    with workload.started(target, context, settings) as running:
        figures = await _groups(running, args)
        if target.kind == "reference":
            context.notes.append("storm not run for the reference (see bench/storm.py)")
            return figures
        return figures | await _storm(running, args, context)


async def _groups(running: harness.Service, args: argparse.Namespace) -> Figures:
    async with (
        harness.Subscribers(running.ws, 10, processes=1) as subscribers,
        harness.http_client(running.http, args.senders) as client,
    ):
        warm = await client.connections[0].post(ALERTMANAGER, group_body(0, args.group))
        assert warm == 200, warm
        accepted, elapsed = await _flat_out(client, args, start=args.group)
        await workload.check_delivered(subscribers, args.group * (1 + accepted), timeout=300)
    return {"alerts_per_s": accepted * args.group / elapsed, "groups_per_s": accepted / elapsed}


async def _flat_out(pool: Pool, args: argparse.Namespace, start: int) -> tuple[int, float]:
    """Each sender posts groups as fast as they are answered; (groups accepted, elapsed)."""
    starts = iter(range(start, 10**9, args.group))
    accepted = 0
    deadline = time.monotonic() + args.seconds

    async def sender(index: int) -> None:
        nonlocal accepted
        connection = pool.connections[index]
        while time.monotonic() < deadline:
            status = await connection.post(ALERTMANAGER, group_body(next(starts), args.group))
            accepted += status == 200

    began = time.monotonic()
    await asyncio.gather(*(sender(i) for i in range(args.senders)))
    return accepted, time.monotonic() - began


async def _storm(running: harness.Service, args: argparse.Namespace, context: Context) -> Figures:
    pools = args.pools or workload.pools_for(args.subscribers)
    async with (
        harness.Subscribers(running.ws, args.subscribers, processes=pools) as subscribers,
        harness.http_client(running.http, 1) as client,
    ):
        connection = client.connections[0]
        assert await connection.post(ALERTMANAGER, group_body(0, _WARM_UP)) == 200
        await workload.check_delivered(subscribers, _WARM_UP)
        body = group_body(_WARM_UP, args.alerts)
        meter = cputime.Meter(
            {
                "service": [running.process.pid],
                "PostgreSQL": [postmaster(context.ours)],
                "subscriber clients": [child.pid for child in subscribers.children],
            }
        )
        sent = int(body.split(b"bench ", 1)[1].split(b" ", 1)[0])
        status = await connection.post(ALERTMANAGER, body)
        answered = time.monotonic_ns()
        if status != 200:
            raise RuntimeError(f"the storm's notification was answered {status}")
        delivery = await workload.check_delivered(
            subscribers, _WARM_UP + args.alerts, timeout=args.storm_timeout, in_order=True
        )
        spent = meter.stop()
    last_screen = (delivery.last_arrival_ns - answered) / 1e9
    wall = (delivery.last_arrival_ns - sent) / 1e9
    context.notes.append(
        f"storm: {len(body) / 1e6:.1f} MB answered in {(answered - sent) / 1e9:.2f} s; last alert on the last "
        f"screen {last_screen:.2f} s after the answer; CPU in those {wall:.1f} s of {2 * wall:.1f} on two cores "
        f"(what limits it): {meter.describe()}"
    )
    return {
        "storm_answer_s": (answered - sent) / 1e9,
        "storm_last_screen_after_answer_s": last_screen,
        "storm_p50_ms": delivery.histogram.percentile_ms(50),
        "storm_p99_ms": delivery.histogram.percentile_ms(99),
        "storm_body_mb": len(body) / 1e6,
        "storm_cpu_service_s": spent["service"].total,
        "storm_cpu_clients_s": spent["subscriber clients"].total,
        "storm_cpu_postgres_s": spent["PostgreSQL"].total,
        "storm_cpu_other_s": spent["other"].total,
    }


def postmaster(database_url: str) -> int:
    """The PostgreSQL server's process id (its backends are its children)."""
    with psycopg.connect(database_url) as conn:
        row = conn.execute("SHOW data_directory").fetchone()
    assert row is not None
    return int((Path(row[0]) / "postmaster.pid").read_text().split()[0])


def configure(p: argparse.ArgumentParser) -> None:
    p.add_argument("--subscribers", type=int, default=1000, help="subscribers of the storm")
    p.add_argument("--alerts", type=int, default=5000, help="alerts in the storm's one notification")
    p.add_argument("--senders", type=int, default=8, help="concurrent senders of the groups workload")
    p.add_argument("--group", type=int, default=100, help="alerts per notification of the groups workload")
    p.add_argument("--seconds", type=float, default=10.0, help="length of the groups workload")
    p.add_argument("--storm-timeout", type=float, default=120.0, help="how long every screen may take")
    p.add_argument(
        "--max-buffered",
        type=int,
        default=0,
        help="the service's WS_MAX_BUFFERED_BYTES (default: the harness's 16 MiB; the service's own default is 1 MiB)",
    )


RATIOS = [("alerts/s accepted vs reference", "alerts_per_s", "reference")]

if __name__ == "__main__":
    workload.main(__doc__, "storm", one_run, configure, RATIOS)
