"""Every workload and ceiling, the service with 1 and 2 workers beside the
reference, then BENCHMARKS.md with the machine, the date, every median and
ratio, and which targets are met.

    python -m bench.all [--runs 3] [--output BENCHMARKS.md]   (make bench-all)

Each workload runs as its own command (exactly as bench/README.md shows), so a
workload that fails (a lost message) is reported as a failure and the others
still run. Takes about 30 minutes on two cores.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import platform
import subprocess
import sys
import tempfile
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from bench import harness

WORKLOADS = (
    "ceilings", "ingest", "fanout", "latency", "scale", "storm", "reconnect_wave", "screens", "retention", "broker",
)  # fmt: skip
# Workloads run with one worker only (their figures are about one process's path; retention runs in the
# leader alone).
_ONE_WORKER = ("storm", "reconnect_wave", "screens", "retention", "broker")
# Every figure of the last run, for rewriting the page without measuring again.
RESULTS = harness.ROOT / ".bench-results.json"


def run_workloads(runs: int, folder: Path) -> dict[str, dict[str, Any]]:
    results: dict[str, dict[str, Any]] = {}
    for name in WORKLOADS:
        path = folder / f"{name}.json"
        argv = [sys.executable, "-m", f"bench.{name}", "--runs", str(runs), "--json", str(path)]
        if name not in ("ceilings", *_ONE_WORKER):
            argv += ["--workers", "1,2"]
        print(f"\n=== {' '.join(argv[1:])}", flush=True)
        code = subprocess.run(argv, cwd=harness.ROOT, check=False).returncode
        if path.exists():
            results[name] = json.loads(path.read_text())
            results[name]["exit_code"] = code
        else:
            results[name] = {"workload": name, "exit_code": code, "medians": {}, "failures": {}, "runs": {}}
    return results


def machine() -> list[str]:
    model = "unknown"
    with open("/proc/cpuinfo") as cpuinfo:
        for line in cpuinfo:
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    with open("/proc/meminfo") as meminfo:
        total_kib = int(meminfo.readline().split()[1])
    commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=harness.ROOT, capture_output=True, text=True)
    return [
        f"- Date: {datetime.now(UTC):%Y-%m-%d %H:%M} UTC",
        f"- Machine: {len(os.sched_getaffinity(0))} cores (`nproc`), {model}, {total_kib / 1024 / 1024:.1f} GiB RAM",
        f"- Kernel: {platform.system()} {platform.release()}; Python {platform.python_version()}",
        f"- Commit: {commit.stdout.strip() or 'unknown'}",
    ]


def fmt(value: float | None, digits: int = 0) -> str:
    if value is None or math.isnan(value):
        return "n/a"
    return f"{value:,.{digits}f}"


def ratio(a: float | None, b: float | None) -> float | None:
    if a is None or b is None or not b or math.isnan(a) or math.isnan(b):
        return None
    return a / b


def verdict(ok: bool | None) -> str:
    return "n/a" if ok is None else ("**met**" if ok else "**not met**")


class Figures:
    """Medians by workload, target label and figure."""

    def __init__(self, results: dict[str, dict[str, Any]]) -> None:
        self.results = results

    def get(self, workload: str, label: str, key: str) -> float | None:
        value = self.results.get(workload, {}).get("medians", {}).get(label, {}).get(key)
        return None if value is None else float(value)

    def failed(self, workload: str) -> bool:
        return bool(self.results.get(workload, {}).get("failures")) or self.results.get(workload, {}).get(
            "exit_code", 1
        ) not in (0, None)


def at_least(value: float | None, bound: float) -> bool | None:
    return None if value is None else value >= bound


def targets_table(f: Figures) -> list[str]:
    ours, ref = "ours", "reference"
    ingest = f.get("ingest", ours, "accepted_per_s")
    ingest_ref = f.get("ingest", ref, "accepted_per_s")
    fan = f.get("fanout", ours, "sustained_per_s")
    fan_ref = f.get("fanout", ref, "sustained_per_s")
    deliveries = f.get("fanout", ours, "deliveries_per_s")
    frames = f.get("fanout", "ceilings", "frames_per_s")
    p99 = f.get("latency", ours, "p99_ms")
    p99_ref = f.get("latency", ref, "p99_ms")
    scale = f.get("scale", ours, "sustained_per_s")
    scale_ref = f.get("scale", ref, "sustained_per_s")
    kib = f.get("scale", ours, "kib_per_idle_connection")
    last_screen = f.get("storm", ours, "storm_last_screen_after_answer_s")
    answered = f.get("storm", ours, "storm_answer_s")
    alerts, alerts_ref = f.get("storm", ours, "alerts_per_s"), f.get("storm", ref, "alerts_per_s")
    screens_p99 = f.get("screens", ours, "p99_ms")
    screens_kib, bare_kib = (
        f.get("screens", ours, "kib_per_idle_connection"),
        f.get("screens", ours, "bare_kib_per_idle_connection"),
    )
    wave, wave_reads = f.get("reconnect_wave", ours, "resume_wave_s"), f.get("reconnect_wave", ours, "event_log_reads")
    wave_base = f.get("reconnect_wave", ours, "connect_wave_s")
    rows = [
        ("1", "ingest: accepted/s ≥ 1,000 and ≥ reference", fmt(ingest), fmt(ingest_ref),
         fmt(ratio(ingest, ingest_ref), 2),
         None if ingest is None or ingest_ref is None else ingest >= 1000 and ingest >= ingest_ref),
        ("2", "fan-out (1,000 subscribers): sustained webhooks/s ≥ 1.5× reference", fmt(fan, 1), fmt(fan_ref, 1),
         fmt(ratio(fan, fan_ref), 2), at_least(ratio(fan, fan_ref), 1.5)),
        ("2", "fan-out: deliveries/s ≥ 60% of the bare websockets ceiling", fmt(deliveries),
         f"ceiling {fmt(frames)}", fmt(ratio(deliveries, frames), 2),
         at_least(ratio(deliveries, frames), 0.6)),
        ("3", "latency (1,000 subscribers, 20/s): p99 < 50 ms and < ⅓ of reference", f"{fmt(p99, 1)} ms",
         f"{fmt(p99_ref, 1)} ms", fmt(ratio(p99, p99_ref), 2),
         None if p99 is None or p99_ref is None else p99 < 50 and p99 < p99_ref / 3),
        ("4", "scale (5,000 subscribers): sustained webhooks/s ≥ 2× reference", fmt(scale, 1), fmt(scale_ref, 1),
         fmt(ratio(scale, scale_ref), 2), at_least(ratio(scale, scale_ref), 2)),
        ("4", "scale: server memory per idle connection ≤ 30 KiB", f"{fmt(kib, 1)} KiB",
         f"{fmt(f.get('scale', ref, 'kib_per_idle_connection'), 1)} KiB",
         fmt(ratio(kib, f.get("scale", ref, "kib_per_idle_connection")), 2), None if kib is None else kib <= 30),
        ("6", "alert storm: one delivery of 5,000 alerts (about 5 MB), 1,000 subscribers: accepted, every alert on "
         "every screen ≤ 5 s after the answer", f"{fmt(last_screen, 2)} s (answered in {fmt(answered, 2)} s)",
         "not run", "", None if last_screen is None else last_screen <= 5),
        ("6", f"alert groups: alerts/s accepted, 8 senders posting groups of 100 (Jira: {fmt(ingest)} webhooks/s)",
         fmt(alerts), fmt(alerts_ref), fmt(ratio(alerts, alerts_ref), 2), None),
        ("6", "reconnect wave: 5,000 subscribers SIGTERMed off one process all resumed on another, gapless, "
         "≤ 10 s, with ≤ 10 event-log reads", f"{fmt(wave, 2)} s, {fmt(wave_reads)} reads",
         f"fresh connects {fmt(wave_base, 2)} s", fmt(ratio(wave, wave_base), 2),
         None if wave is None or wave_reads is None else wave <= 10 and wave_reads <= 10),
        ("7", "ten thousand screens on one process, 5 events/s each: p99 delivery ≤ 1 s", f"{fmt(screens_p99)} ms",
         "not run", "", None if screens_p99 is None else screens_p99 <= 1000),
        ("7", "ten thousand screens: memory per idle connection ≤ 15 KiB (reference: bare `websockets`, same run)",
         f"{fmt(screens_kib, 1)} KiB", f"{fmt(bare_kib, 1)} KiB", fmt(ratio(screens_kib, bare_kib), 2),
         None if screens_kib is None else screens_kib <= 15),
    ]  # fmt: skip
    for table in ("events", "webhook_deliveries", "metric_samples"):
        purged = f.get("retention", ours, f"{table}_purged_per_s")
        rows.append(
            ("15.5", f"retention: {table} purged/s ≥ 5× ingest accepted/s", fmt(purged), f"ingest {fmt(ingest)}",
             fmt(ratio(purged, ingest), 1), at_least(ratio(purged, ingest), 5))
        )  # fmt: skip
    rows += _broker_rows(f)
    lost = [name for name in WORKLOADS if f.failed(name)]
    lines = [
        "| # | target | ours (1 worker) | reference | ratio | verdict |",
        "|---|---|---:|---:|---:|---|",
    ]
    lines += [f"| {n} | {what} | {a} | {b} | {r} | {verdict(ok)} |" for n, what, a, b, r, ok in rows]
    lines.append(
        f"| 5 | nothing lost: every run delivered every expected message | "
        f"{'all runs' if not lost else 'FAILED in ' + ', '.join(lost)} | | | {verdict(not lost)} |"
    )
    return lines


def _broker_rows(f: Figures) -> list[tuple[str, str, str, str, str, bool | None]]:
    """Issue 17: with a broker, the p99 at 20 webhooks/s at most 5 ms above PostgreSQL only, and one
    event-log read per event whatever the number of edges."""
    rows: list[tuple[str, str, str, str, str, bool | None]] = []
    for edges in (1, 2, 4):
        label = f"{edges} socket process{'es' if edges > 1 else ''}"
        p99, p99_pg = f.get("broker", f"broker, {label}", "p99_ms"), f.get("broker", f"postgres, {label}", "p99_ms")
        reads = f.get("broker", f"broker, {label}", "log_reads_per_event")
        ok = None if p99 is None or p99_pg is None or reads is None else p99 <= p99_pg + 5 and reads <= 1.0
        rows.append(
            ("17", f"broker, 1 relay + {edges} edge(s): p99 at 20/s ≤ PostgreSQL-only + 5 ms; log reads/event ≤ 1 "
             f"({fmt(reads, 2)})", f"{fmt(p99, 1)} ms", f"{fmt(p99_pg, 1)} ms (postgres only)",
             fmt(ratio(p99, p99_pg), 2), ok)
        )  # fmt: skip
    return rows


def processes_table(f: Figures) -> list[str]:
    two = "ours, 2 workers"
    rows = [
        ("ingest", "accepted/s", "accepted_per_s"),
        ("fanout", "sustained webhooks/s, 1,000 subscribers", "sustained_per_s"),
        ("latency", "p99 ms, 1,000 subscribers at 20/s", "p99_ms"),
        ("scale", "sustained webhooks/s, 5,000 subscribers", "sustained_per_s"),
        ("scale", "KiB per idle connection", "kib_per_idle_connection"),
    ]
    lines = ["| workload | figure | 1 worker | 2 workers | 2 / 1 |", "|---|---|---:|---:|---:|"]
    for workload, what, key in rows:
        one, both = f.get(workload, "ours", key), f.get(workload, two, key)
        lines.append(f"| {workload} | {what} | {fmt(one, 1)} | {fmt(both, 1)} | {fmt(ratio(both, one), 2)} |")
    return lines


def details(results: dict[str, dict[str, Any]]) -> list[str]:
    lines: list[str] = []
    for name in WORKLOADS:
        result = results.get(name, {})
        lines += ["", f"### {name}", "", f"`python -m bench.{name} {_argv(result.get('params', {}))}`", ""]
        for label, figures in result.get("medians", {}).items():
            runs = result.get("runs", {}).get(label, [])
            for key, value in figures.items():
                each = ", ".join(fmt(run.get(key), 1) for run in runs)
                lines.append(f"- {label}: {key} = **{fmt(value, 1)}** (runs: {each})")
        for label, failures in result.get("failures", {}).items():
            lines += [f"- {label}: {failure}" for failure in failures]
        for label, notes in result.get("notes", {}).items():
            lines += [f"- {label}, {note}" for note in notes if "limit" in note]
    return lines


def _argv(params: dict[str, Any]) -> str:
    shown = {k: v for k, v in params.items() if v not in (None, False, 0, "") and k not in ("only", "no_reference")}
    return " ".join(f"--{k.replace('_', '-')} {v}" for k, v in shown.items())


READING = [
    "## Reading these figures",
    "",
    "- The service, PostgreSQL, the senders and the subscriber processes share the machine's cores: "
    "each figure is what the whole machine does, clients included (at hundreds of thousands of "
    "deliveries a second the subscriber processes take a noticeable share).",
    "- The service's deliveries per second can exceed the bare `websockets` ceiling: that server "
    "writes each frame to each socket on its own, while the service joins the frames of a batch of "
    "events into one write per socket.",
    "- Each sustained rate comes with what stopped the next rate up (under *Every figure*): when "
    "the senders fell behind schedule, the limit was how fast the target answers webhooks, not "
    "its fan-out.",
    "- Ratios between targets measured in the same invocation are steadier than absolute figures across days.",
]


def write(results: dict[str, dict[str, Any]], output: Path, runs: int) -> None:
    f = Figures(results)
    fastapi = f.get("ceilings", "ceilings", "fastapi_empty_per_s")
    pg1 = f.get("ingest", "ceilings", "pg_commits_per_s_1conn")
    pg8 = f.get("ingest", "ceilings", "pg_commits_per_s_8conn")
    text = [
        "# Benchmarks",
        "",
        "Written by `make bench-all` (`python -m bench.all`); how each figure is measured: "
        "[bench/README.md](bench/README.md). Every figure is the median of "
        f"{runs} runs; the service and the reference (FastAPI + encode/broadcaster, `bench/reference/`) "
        "ran alternately on the same machine, database cluster, workload and client. Not a test: "
        "nothing here is asserted in `make test`.",
        "",
        *machine(),
        "",
        "## Targets",
        "",
        *targets_table(f),
        "",
        "## Ceilings measured in the same runs",
        "",
        f"- PostgreSQL INSERT+NOTIFY commits/s: {fmt(pg1)} from 1 connection, {fmt(pg8)} from 8 "
        f"(ours accepts {fmt(ratio(f.get('ingest', 'ours', 'accepted_per_s'), pg8), 2)}× the 8-connection figure)",
        f"- bare `websockets` broadcast of 500-byte frames to 1,000 clients: "
        f"{fmt(f.get('fanout', 'ceilings', 'frames_per_s'))} frames/s (standalone: "
        f"{fmt(f.get('ceilings', 'ceilings', 'frames_per_s'))}), "
        f"{fmt(f.get('ceilings', 'ceilings', 'kib_per_connection'), 1)} KiB per idle connection",
        f"- empty FastAPI POST endpoint: {fmt(fastapi)} requests/s "
        f"(ours ingests {fmt(ratio(f.get('ingest', 'ours', 'accepted_per_s'), fastapi), 2)}× that)",
        "",
        "## What a second process adds",
        "",
        *processes_table(f),
        "",
        *READING,
        "",
        "## Every figure",
        *details(results),
        "",
    ]
    output.write_text("\n".join(text))
    print(f"\nwrote {output}", flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--output", type=Path, default=harness.ROOT / "BENCHMARKS.md")
    parser.add_argument("--from-json", type=Path, help=f"rewrite the page from an earlier run's {RESULTS.name}")
    args = parser.parse_args()
    if args.from_json:
        write(json.loads(args.from_json.read_text()), args.output, args.runs)
        return
    with tempfile.TemporaryDirectory(prefix="ops-bench-results-") as folder:
        results = run_workloads(args.runs, Path(folder))
        RESULTS.write_text(json.dumps(results, indent=2))
        write(results, args.output, args.runs)
    if any(Figures(results).failed(name) for name in WORKLOADS):
        raise SystemExit(1)


if __name__ == "__main__":
    main()
