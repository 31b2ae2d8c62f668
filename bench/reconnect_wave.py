"""Reconnect wave: 5,000 subscribers on one process, that process SIGTERMed,
every subscriber resuming on another process with `?last_event_id`.

    python -m bench.reconnect_wave [--runs 3] [--subscribers 5000] [--missed 100] [--ring N]

Each run starts two service processes on a fresh log, A and B (B is the
process the dashboards move to, as in a rolling deploy). Then:

1. `--subscribers` subscribers (admin tokens: they may see everything) connect
   to A, in subscriber processes (`bench/resume_pool.py`, one per 1,250), and
   receive `--before` events.
2. They stop recording events (as a busy browser tab does), and `--missed`
   more are written: each subscriber's last recorded id is now that many
   events behind.
3. A gets SIGTERM: it closes every socket with 1001, and every subscriber
   reconnects to B at once with `?last_event_id=<its last id>`.

Figures: the time from the SIGTERM to the last subscriber holding every
missed event (the target: within 10 s), and how many times B read the event
log for the wave's replays (`ops_bridge_replay_reads_total{source="database"}`:
the target is at most 10, where one read per subscriber was the rule). Every
subscriber must say the resume was complete and hold every missed event once,
in order (the log's positions are dense here, so each event must be the next
position): otherwise the run fails. The baseline, measured in the same run: as
many new subscribers connecting to B at once without resuming (the cost of the
handshakes alone); the ratio says what replaying adds to it.

`--ring N` starts B with `REPLAY_BUFFER_EVENTS=N`: smaller than `--missed`,
the replays must read the log, and the reads figure shows them shared.
The reference (bench/reference/) has no resume: it is not run.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import math
import os
import re
import signal
import sys
import time
from collections.abc import AsyncIterator
from typing import Any

import httpx
import orjson
import psycopg

from app.auth.tokens import mint_token
from bench import harness, workload
from bench.workload import Context, Figures, Lost, Target

ALERTMANAGER = "/api/webhooks/alertmanager"
_PER_POOL = 1250
_READS = re.compile(r'^ops_bridge_replay_reads_total\{source="(\w+)"\} ([0-9.e+]+)$', re.MULTILINE)


def alerts_body(start: int, count: int) -> bytes:
    """An Alertmanager notification of `count` small new alerts: one event each."""
    alerts = [
        {
            "status": "firing",
            "labels": {"alertname": "WaveTest", "instance": f"node-{index}", "squad": "ops", "env": "prod"},
            "annotations": {"summary": f"wave {index}"},
            "startsAt": "2025-01-17T10:00:00Z",
            "endsAt": "0001-01-01T00:00:00Z",
            "fingerprint": f"{index:016x}",
        }
        for index in range(start, start + count)
    ]
    return orjson.dumps(
        {
            "receiver": "ops-bridge", "status": "firing", "alerts": alerts, "groupLabels": {},
            "commonLabels": {}, "commonAnnotations": {}, "externalURL": "http://alertmanager:9093",
            "version": "4", "groupKey": "{}:{}", "truncatedAlerts": 0,
        }
    )  # fmt: skip


class Pools:
    """The resuming subscribers, in child processes (bench/resume_pool.py)."""

    def __init__(self, children: list[asyncio.subprocess.Process]) -> None:
        self.children = children

    async def ask(self, line: str) -> list[Any]:
        for child in self.children:
            assert child.stdin is not None
            child.stdin.write(f"{line}\n".encode())
            await child.stdin.drain()
        answers = []
        for child in self.children:
            assert child.stdout is not None
            text = (await child.stdout.readline()).decode().strip()
            answers.append(json.loads(text) if text.startswith("{") else text)
        return answers


@contextlib.asynccontextmanager
async def pools(first: str, second: str, count: int, processes: int, delay: float) -> AsyncIterator[Pools]:
    token = mint_token(harness.SECRET, sub="wave", roles=["admin"], ttl_seconds=3600)
    per, extra = divmod(count, processes)
    children = []
    try:
        for index in range(processes):
            n = per + (1 if index < extra else 0)
            argv = ["-m", "bench.resume_pool", first, second, str(n), token, str(delay)]
            pipe = asyncio.subprocess.PIPE
            child = await asyncio.create_subprocess_exec(
                sys.executable, *argv, stdin=pipe, stdout=pipe, cwd=harness.ROOT
            )
            children.append(child)
        for child in children:
            assert child.stdout is not None
            line = await asyncio.wait_for(child.stdout.readline(), 300)
            if line.strip() != b"ready":
                raise RuntimeError(f"resume pool failed to connect: {line!r}")
        yield Pools(children)
    finally:
        for child in children:
            if child.returncode is None:
                child.kill()
            await child.wait()


def _newest(database_url: str) -> tuple[int, bool]:
    """The newest position, and whether positions are dense (no position skipped)."""
    with psycopg.connect(database_url) as conn:
        row = conn.execute("SELECT count(*), coalesce(min(position), 0), coalesce(max(position), 0) FROM events")
        count, low, high = row.fetchone() or (0, 0, 0)
    return int(high), count == 0 or count == high - low + 1


async def _replay_reads(http: httpx.AsyncClient) -> dict[str, float]:
    text = (await http.get("/metrics")).text
    return {source: float(value) for source, value in _READS.findall(text)}


async def _post(http: httpx.AsyncClient, start: int, count: int) -> None:
    response = await http.post(ALERTMANAGER, content=alerts_body(start, count), timeout=120)
    if response.status_code != 200:
        raise RuntimeError(f"alerts answered {response.status_code}: {response.text[:200]}")


async def one_run(target: Target, context: Context, args: argparse.Namespace) -> Figures:
    if target.kind != "ours":
        context.notes.append("not run for the reference: it has no resume")
        return {}
    harness.reset(context.ours)
    ring = {"REPLAY_BUFFER_EVENTS": str(args.ring)} if args.ring else {}
    processes = args.pools or max(1, math.ceil(args.subscribers / _PER_POOL))
    with (
        harness.service(context.ours) as first,
        harness.service(context.ours, settings=ring) as second,
    ):
        async with (
            httpx.AsyncClient(base_url=first.http) as to_first,
            httpx.AsyncClient(base_url=second.http) as to_second,
            pools(first.ws, second.ws, args.subscribers, processes, args.reconnect_delay) as subscribers,
        ):
            return await _wave(first, second, to_first, to_second, subscribers, context, args)


async def _wave(
    first: harness.Service,
    second: harness.Service,
    to_first: httpx.AsyncClient,
    to_second: httpx.AsyncClient,
    subscribers: Pools,
    context: Context,
    args: argparse.Namespace,
) -> Figures:
    await _post(to_first, 0, args.before)
    before, _ = _newest(context.ours)
    await subscribers.ask(f"wait {before} 120")
    await subscribers.ask("freeze")
    await _post(to_first, args.before, args.missed)
    newest, dense = _newest(context.ours)
    if not dense:
        raise RuntimeError("the log's positions are not dense: the gap check would be wrong")
    # Every subscriber has had the missed events from A (and ignored them): A is idle when it stops.
    await subscribers.ask(f"wait {newest} 120")
    reads_before = await _replay_reads(to_second)
    cpu_before = _cpu_seconds(second.process.pid)
    stopped_ns = time.monotonic_ns()
    first.process.send_signal(signal.SIGTERM)
    reports = await subscribers.ask(f"resumed {newest} {args.timeout}")
    resume_cpu = _cpu_seconds(second.process.pid) - cpu_before
    reads_after = await _replay_reads(to_second)
    await asyncio.to_thread(first.process.wait, 30)
    cpu_before = _cpu_seconds(second.process.pid)
    baseline = await subscribers.ask(f"fresh {args.timeout}")
    connect_cpu = _cpu_seconds(second.process.pid) - cpu_before

    caught_up = sum(r["caught_up"] for r in reports)
    complete = sum(r["resumed_complete"] for r in reports)
    gaps, repeats = sum(r["gaps"] for r in reports), sum(r["repeats"] for r in reports)
    if caught_up < args.subscribers or complete < args.subscribers or gaps or repeats:
        raise Lost(args.subscribers - caught_up, repeats, args.subscribers - complete)
    wave_s = (max(r["last_arrival_ns"] for r in reports) - stopped_ns) / 1e9
    connect_s = (max(b["last_confirmed_ns"] for b in baseline) - min(b["started_ns"] for b in baseline)) / 1e9
    reads = {source: reads_after.get(source, 0.0) - reads_before.get(source, 0.0) for source in reads_after}
    codes: dict[str, int] = {}
    for r in reports:
        for code, n in r["close_codes"].items():
            codes[code] = codes.get(code, 0) + n
    context.notes.append(
        f"{args.subscribers} resumed {args.missed} events back in {wave_s:.2f} s; replay pages: "
        + ", ".join(f"{source} {n:.0f}" for source, n in sorted(reads.items()))
        + f"; close codes seen {codes}; failed connects {sum(r['failed_connects'] for r in reports)}; "
        f"baseline (fresh connects, no resume) {connect_s:.2f} s; CPU of the second process (what limits it: "
        f"handshakes, on a machine shared with the subscriber processes): {resume_cpu:.1f} s for the wave, "
        f"{connect_cpu:.1f} s for the fresh connects"
    )
    return {
        "resume_wave_s": wave_s,
        "event_log_reads": reads.get("database", 0.0),
        "connect_wave_s": connect_s,
        "resume_cpu_ms_per_subscriber": resume_cpu * 1000 / args.subscribers,
        "connect_cpu_ms_per_subscriber": connect_cpu * 1000 / args.subscribers,
    }


def _cpu_seconds(pid: int) -> float:
    """User and system CPU time of `pid` and everything under it."""
    ticks = 0
    for found in harness.process_tree(pid):
        with contextlib.suppress(FileNotFoundError, ProcessLookupError), open(f"/proc/{found}/stat") as stat:
            fields = stat.read().rsplit(")", 1)[1].split()
            ticks += int(fields[11]) + int(fields[12])  # utime, stime
    return ticks / os.sysconf("SC_CLK_TCK")


def configure(p: argparse.ArgumentParser) -> None:
    p.add_argument("--subscribers", type=int, default=5000)
    p.add_argument("--before", type=int, default=10, help="events every subscriber records on the first process")
    p.add_argument("--missed", type=int, default=100, help="events each subscriber resumes to get")
    p.add_argument("--ring", type=int, default=0, help="REPLAY_BUFFER_EVENTS of the second process (0: default)")
    p.add_argument("--reconnect-delay", type=float, default=0.0, help="seconds a subscriber waits to reconnect")
    p.add_argument("--timeout", type=float, default=120.0, help="how long the wave may take before it fails")
    p.set_defaults(no_reference=True)


RATIOS = [
    ("resume wave / fresh connect wave", "resume_wave_s", "ours:connect_wave_s"),
    ("CPU per resume / CPU per fresh connect", "resume_cpu_ms_per_subscriber", "ours:connect_cpu_ms_per_subscriber"),
]

if __name__ == "__main__":
    workload.main(__doc__, "reconnect_wave", one_run, configure, RATIOS)
