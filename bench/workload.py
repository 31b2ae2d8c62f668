"""What the workload commands share: the two targets (the service and the
reference), running them alternately for several runs, the sustained-rate
search, the nothing-lost check, and medians and ratios.

Each workload module defines `one_run(target, context, args) -> figures` and
calls `main()` here with it.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import math
import sys
import time
from collections.abc import Awaitable, Callable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import psycopg
import uvloop

from bench import harness
from bench.loadgen import Pool

JIRA = "/api/webhooks/jira"
Figures = dict[str, float]


class Lost(Exception):
    """A run that did not deliver every expected message: a failure, not a figure."""

    def __init__(self, lost: int, duplicates: int, disconnected: int, gaps: int = 0, disorder: int = 0) -> None:
        out_of_line = f", {gaps} positions skipped, {disorder} out of order" if gaps or disorder else ""
        super().__init__(f"lost {lost}, duplicated {duplicates}, {disconnected} subscribers disconnected{out_of_line}")
        self.lost = lost


@dataclass(frozen=True)
class Target:
    kind: str  # "ours", "reference", or "ceilings" (a workload of its own)
    workers: int = 1

    @property
    def label(self) -> str:
        if self.kind != "ours":
            return self.kind
        return "ours" if self.workers == 1 else f"ours, {self.workers} workers"


@dataclass
class Context:
    """The databases of one invocation: the service's, and the reference's in the same cluster."""

    ours: str
    reference: str
    ceilings: str
    # What earlier runs found, to start later searches near it.
    hints: dict[str, float] = field(default_factory=dict)
    # What a run wants said beside its figures (collected after each run).
    notes: list[str] = field(default_factory=list)


@contextlib.contextmanager
def started(target: Target, context: Context, settings: Mapping[str, str] | None = None) -> Iterator[harness.Service]:
    """The target, started afresh; `settings`: more environment for the service (not the reference)."""
    if target.kind == "reference":
        _reset_reference(context.reference)
        command = [sys.executable, "-m", "bench.reference", "app"]
        with harness.service(context.reference, command=command, ready_path="/openapi.json") as running:
            yield running
    else:
        harness.reset(context.ours)
        with harness.service(context.ours, workers=target.workers, settings=settings) as running:
            yield running


def _reset_reference(url: str) -> None:
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("DROP TABLE IF EXISTS webhooks")


def pools_for(subscribers: int) -> int:
    """Subscriber processes: enough that none of them is the bottleneck."""
    return max(1, min(8, math.ceil(subscribers / 500)))


async def check_delivered(
    subscribers: harness.Subscribers, expected: int, timeout: float = 120, *, in_order: bool = False
) -> harness.Delivery:
    """Wait until every subscriber holds `expected` messages; raise Lost if any is missing.

    `in_order`: also every subscriber's event positions must follow one
    another with none skipped (where every event is a benchmark message, and
    the client reads positions: the C client does)."""
    delivery = await subscribers.collect(expected, timeout)
    lost = expected * subscribers.count - delivery.received
    out_of_line = in_order and (delivery.gaps or delivery.disorder)
    if lost or delivery.duplicates or delivery.disconnected or out_of_line:
        raise Lost(lost, delivery.duplicates, delivery.disconnected, delivery.gaps, delivery.disorder)
    return delivery


# --- the sustained rate -----------------------------------------------------


@dataclass
class Sustained:
    """The highest steady offered rate every subscriber kept up with, and what was seen there."""

    rate: float = 0.0
    p99_ms: float = float("nan")
    probes: list[str] = field(default_factory=list)
    # Why each failing rate failed.
    failed: dict[float, str] = field(default_factory=dict)

    @property
    def limit(self) -> str:
        """What stopped the next rate above the sustained one."""
        above = [rate for rate in self.failed if rate > self.rate]
        return f"at {min(above):.1f}/s: {self.failed[min(above)]}" if above else "no failing rate found"


class RateSearch:
    """Probes steady offered rates over one set of subscribers (see bench/README.md).

    A rate passes when, sending `rate * seconds` webhooks evenly over `seconds`:
    every webhook is accepted and sent on schedule, every subscriber holds every
    message within `lag` seconds of the last one's acceptance, and the p99 of the
    last tenth's send-to-arrival latency is at most `lag`. A failed probe's
    backlog is drained (and counted) before the next."""

    def __init__(self, client: Pool, subscribers: harness.Subscribers, *, seconds: float, lag: float) -> None:
        self.client, self.subscribers = client, subscribers
        self.seconds, self.lag = seconds, lag
        self.next_index = 0
        self.expected = 0
        self.result = Sustained()

    async def probe(self, rate: float) -> bool:
        count = max(3, round(rate * self.seconds))
        began = time.monotonic()
        accepted = await harness.send_at_rate(self.client, JIRA, rate, count, start=self.next_index)
        late = time.monotonic() - began > self.seconds * 1.1 + 0.5
        tail_start = self.next_index + count - max(1, count // 10)
        self.next_index += count
        self.expected += accepted
        first = await self.subscribers.collect(self.expected, self.lag + 0.5, tail_start)
        if first.disconnected or first.duplicates:
            raise Lost(self.expected * self.subscribers.count - first.received, first.duplicates, first.disconnected)
        p99 = first.tail_histogram.percentile_ms(99)
        complete = first.complete == self.subscribers.count
        reasons = [
            *([f"{count - accepted} webhooks refused"] if accepted < count else []),
            *(["the senders fell behind schedule (answers too slow)"] if late else []),
            *([f"not every subscriber had every message {self.lag:g} s after the last"] if not complete else []),
            *([f"last tenth's p99 {p99:.0f} ms over {self.lag:g} s"] if p99 > self.lag * 1000 else []),
        ]
        passed = not reasons
        self.result.probes.append(f"{rate:.1f}/s: " + ("pass" if passed else "FAIL, " + "; ".join(reasons)))
        if not passed:
            self.result.failed[rate] = "; ".join(reasons)
        if passed and rate > self.result.rate:
            self.result.rate, self.result.p99_ms = rate, first.histogram.percentile_ms(99)
        if not complete:
            await self.subscribers.collect(self.expected, 300)  # drain: counted by the final check
        return passed

    async def run(self, start: float, factor: float, precision: float = 1.1, max_probes: int = 14) -> Sustained:
        """Up by `factor` from `start` until a rate fails (down until one passes),
        then bisect (geometrically) until the bounds are within `precision`."""
        low, high = 0.0, math.inf
        rate = start
        for _ in range(max_probes):
            if await self.probe(rate):
                low = rate
            else:
                high = rate
            if high == math.inf:
                rate = low * factor
            elif low == 0.0:
                rate = high / factor
                if rate < 0.5:
                    break
            elif high / low <= precision:
                break
            else:
                rate = math.sqrt(low * high)
        await check_delivered(self.subscribers, self.expected, timeout=300)
        return self.result


async def sustained(
    running: harness.Service,
    subscribers: harness.Subscribers,
    args: argparse.Namespace,
    hint_key: str,
    context: Context,
) -> Sustained:
    """The sustained rate of one started target to its connected `subscribers`."""
    async with harness.http_client(running.http, 16) as client:
        search = RateSearch(client, subscribers, seconds=args.seconds, lag=args.lag)
        hint = context.hints.get(hint_key)
        found = await (search.run(hint, 1.25) if hint else search.run(args.start_rate, 2.0))
    if found.rate:
        context.hints[hint_key] = found.rate
    context.notes.append(f"sustained {found.rate:.1f}/s; limit {found.limit}")
    context.notes.append("probes: " + ", ".join(found.probes))
    return found


# --- runs, medians, ratios ----------------------------------------------------


OneRun = Callable[[Target, Context, argparse.Namespace], Awaitable[Figures]]
Extra = Callable[[Context, argparse.Namespace], Awaitable[Figures]]


def parser(doc: str | None) -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(description=doc, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--runs", type=int, default=3, help="runs of each target, alternating (default 3)")
    p.add_argument(
        "--workers", default="1", help="worker processes of the service, comma-separated for several (e.g. 1,2)"
    )
    p.add_argument("--no-reference", action="store_true", help="run the service only")
    p.add_argument("--pools", type=int, default=0, help="subscriber processes (default: one per 500 subscribers)")
    p.add_argument("--json", type=Path, help="also write the figures here (bench.all reads them)")
    p.add_argument(
        "--client",
        choices=["native", "python"],
        default="native",
        help="subscriber client: native (C, bench/native_pool.c, the default) or python (bench/subscriber_pool.py)",
    )
    return p


def targets(args: argparse.Namespace) -> list[Target]:
    if getattr(args, "only", None):
        return [Target(args.only)]
    ours = [Target("ours", int(w)) for w in str(args.workers).split(",")]
    return ours if args.no_reference else [*ours, Target("reference")]


@dataclass
class Outcome:
    workload: str
    params: dict[str, Any]
    runs: dict[str, list[Figures]] = field(default_factory=dict)
    failures: dict[str, list[str]] = field(default_factory=dict)
    notes: dict[str, list[str]] = field(default_factory=dict)

    def medians(self) -> dict[str, Figures]:
        result: dict[str, Figures] = {}
        for label, runs in self.runs.items():
            keys = {key for run in runs for key in run}
            result[label] = {key: harness.median([run[key] for run in runs if key in run]) for key in sorted(keys)}
        return result

    def to_json(self) -> dict[str, Any]:
        return {
            "workload": self.workload,
            "params": self.params,
            "runs": self.runs,
            "failures": self.failures,
            "notes": self.notes,
            "medians": self.medians(),
        }


async def run_all(
    workload: str, one_run: OneRun, args: argparse.Namespace, extra: Extra | None = None, extra_label: str = ""
) -> Outcome:
    """Every target, alternating which goes first, for `args.runs` runs."""
    params = {k: (str(v) if isinstance(v, Path) else v) for k, v in vars(args).items() if k not in ("json", "only")}
    outcome = Outcome(workload, params)
    order = targets(args)
    with harness.database() as url:
        context = Context(url, harness.create_database(url, "reference"), harness.create_database(url, "ceilings"))
        for run in range(args.runs):
            for target in order if run % 2 == 0 else order[::-1]:
                await _one(outcome, target.label, one_run(target, context, args), run)
                _take_notes(outcome, target.label, context, run)
            if extra is not None:
                await _one(outcome, extra_label, extra(context, args), run)
    return outcome


def _take_notes(outcome: Outcome, label: str, context: Context, run: int) -> None:
    for note in context.notes:
        outcome.notes.setdefault(label, []).append(f"run {run + 1}: {note}")
        print(f"  {note}", flush=True)
    context.notes.clear()


async def _one(outcome: Outcome, label: str, measuring: Awaitable[Figures], run: int) -> None:
    try:
        figures = await measuring
    except Lost as exc:
        outcome.failures.setdefault(label, []).append(f"run {run + 1}: FAILED: {exc}")
        print(f"run {run + 1} {label}: FAILED: {exc}", flush=True)
        return
    outcome.runs.setdefault(label, []).append(figures)
    print(f"run {run + 1} {label}: " + ", ".join(f"{k}={v:.1f}" for k, v in figures.items()), flush=True)


def report(outcome: Outcome, ratios: list[tuple[str, str, str]]) -> str:
    """Medians per target, then each (name, figure, against) ratio: ours / the other."""
    medians = outcome.medians()
    lines = [f"\n{outcome.workload}: medians of {outcome.params['runs']} runs"]
    for label, figures in medians.items():
        lines.append(f"  {label}")
        lines.extend(f"    {key:24} {value:12.1f}" for key, value in figures.items())
    for label, failures in outcome.failures.items():
        lines.extend(f"  {label}: {failure}" for failure in failures)
    for name, key, against in ratios:
        for label, figures in medians.items():
            if label.startswith("ours") and key in figures:
                other = _against(medians, against, key)
                if other:
                    lines.append(f"  {name} ({label}): {figures[key] / other:.2f}")
    return "\n".join(lines)


def _against(medians: dict[str, Figures], against: str, key: str) -> float:
    label, _, other_key = against.partition(":")
    return medians.get(label, {}).get(other_key or key, 0.0)


def main(
    doc: str | None,
    workload: str,
    one_run: OneRun,
    configure: Callable[[argparse.ArgumentParser], None],
    ratios: list[tuple[str, str, str]],
    extra: Extra | None = None,
    extra_label: str = "",
) -> None:
    """The command line of one workload: parse, run, print, write JSON, exit 1 on a loss."""
    p = parser(doc)
    configure(p)
    args = p.parse_args()
    harness.CLIENT = args.client
    outcome = uvloop.run(run_all(workload, one_run, args, extra, extra_label))
    print(report(outcome, ratios), flush=True)
    if args.json:
        args.json.write_text(json.dumps(outcome.to_json(), indent=2))
    if outcome.failures:
        lost = sum(int(f.split("lost ")[1].split(",")[0]) for fs in outcome.failures.values() for f in fs)
        print(f"FAILED: lost {lost}", flush=True)
        raise SystemExit(1)


def add_search_options(p: argparse.ArgumentParser, subscribers: int, start_rate: float) -> None:
    p.add_argument("--subscribers", type=int, default=subscribers)
    p.add_argument("--seconds", type=float, default=5.0, help="length of each probe at a steady rate")
    p.add_argument("--lag", type=float, default=1.0, help="seconds a message may take to reach everyone")
    p.add_argument("--start-rate", type=float, default=start_rate, help="first rate probed (webhooks/s)")
