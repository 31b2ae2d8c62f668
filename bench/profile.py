"""Where the service's time goes under one workload: py-spy samples the running
server (unchanged, in its own process) while the workload's load runs.

    python -m bench.profile ingest|fanout|latency [--seconds 20] [--subscribers N] [--rate R]

Writes `<output>/<workload>.txt` (py-spy's collapsed stacks, which
flamegraph.pl or speedscope draw), and prints the functions with the most samples: on their own
(self) and with what they call (total), as shares of the samples taken while
the server was busy (py-spy leaves out idle waits).
"""

from __future__ import annotations

import argparse
import asyncio
import re
import subprocess
import sys
from collections import Counter
from pathlib import Path

import uvloop

from bench import harness, workload
from bench.workload import JIRA, Context, Target

_DEFAULTS = {"ingest": (10, 0.0), "fanout": (1000, 200.0), "latency": (1000, 20.0)}
_LINE = re.compile(r":\d+\)")


def _py_spy(pid: int, seconds: float, out: Path) -> subprocess.Popen[bytes]:
    spy = Path(sys.executable).parent / "py-spy"
    return subprocess.Popen(
        [str(spy), "record", "-p", str(pid), "-d", str(int(seconds)), "-r", "100", "-f", "raw", "-o", str(out)],
        stdout=subprocess.DEVNULL,
    )


def summarize(raw: Path, top: int) -> str:
    """Top functions by self and total samples from py-spy's collapsed stacks."""
    self_counts: Counter[str] = Counter()
    total_counts: Counter[str] = Counter()
    samples = 0
    for line in raw.read_text().splitlines():
        stack, _, count_text = line.rpartition(" ")
        count = int(count_text)
        frames = [_LINE.sub(")", frame) for frame in stack.split(";")]
        samples += count
        self_counts[frames[-1]] += count
        for frame in set(frames):
            total_counts[frame] += count
    lines = [f"{samples} busy samples"]
    for title, counts in (("self", self_counts), ("total (with callees)", total_counts)):
        lines.append(f"\ntop {top} by {title}:")
        lines += [f"  {100 * n / samples:5.1f}%  {frame}" for frame, n in counts.most_common(top)]
    return "\n".join(lines)


async def _load(name: str, running: harness.Service, args: argparse.Namespace) -> None:
    async with harness.http_client(running.http, 16) as client:
        if name == "ingest":
            await harness.send_flat_out(client, JIRA, args.seconds + 2, 16)
        else:
            await harness.send_at_rate(client, JIRA, args.rate, round(args.rate * (args.seconds + 2)))


async def profile(args: argparse.Namespace) -> None:
    subscribers, rate = _DEFAULTS[args.workload]
    args.subscribers = args.subscribers or subscribers
    args.rate = args.rate or rate
    args.output.mkdir(parents=True, exist_ok=True)
    raw = args.output / f"{args.workload}.txt"
    with harness.database() as url:
        context = Context(url, "", "")
        with workload.started(Target("ours"), context) as running:
            pools = workload.pools_for(args.subscribers)
            async with harness.Subscribers(running.ws, args.subscribers, processes=pools):
                load = asyncio.create_task(_load(args.workload, running, args))
                await asyncio.sleep(1)  # past the start of the load
                await asyncio.to_thread(_py_spy(running.process.pid, args.seconds, raw).wait)
                await load
    print(summarize(raw, args.top))
    print(f"\ncollapsed stacks: {raw}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("workload", choices=sorted(_DEFAULTS))
    parser.add_argument("--seconds", type=float, default=20.0)
    parser.add_argument("--subscribers", type=int, default=0)
    parser.add_argument("--rate", type=float, default=0.0, help="webhooks/s (fanout, latency)")
    parser.add_argument("--top", type=int, default=25)
    parser.add_argument("--output", type=Path, default=Path("/tmp/ops-bridge-profile"))
    uvloop.run(profile(parser.parse_args()))


if __name__ == "__main__":
    main()
