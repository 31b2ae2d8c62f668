"""The fleet's chores in one process: commits per second of idle processes, and how long the
fleet goes without a leader after the leader is SIGKILLed.

    python -m bench.leadership [--runs 3] [--seconds 30] [--before DIR]

On a fresh durable embedded cluster, `ops-bridge serve` processes (1, then 4) sit idle
on one database; the figure is that database's `pg_stat_database.xact_commit` delta over
`--seconds`, per second (the bench's own two reads included). `--before DIR` runs a
checkout of the code before this change (`git archive main | tar -x -C DIR`) the same
way, in the same invocation, as the baseline. Then, with 4 processes of this code, the
leader (the session holding the leader's advisory lock, whose application_name names its
process) is SIGKILLed, `--runs` times over, and the time until another session holds the
lock is taken, polling pg_locks every 5 ms.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator, Sequence

import psycopg

from app.db.lock_keys import LEADER_KEY, LEADER_NAMESPACE
from bench import harness

_HOLDER = (
    "SELECT a.application_name FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid "
    "WHERE l.locktype = 'advisory' AND l.granted AND l.classid = %s AND l.objid = %s AND l.objsubid = 2"
)


@contextlib.contextmanager
def _processes(database_url: str, count: int, source: str | None) -> Iterator[list[subprocess.Popen[bytes]]]:
    """`count` idle `ops-bridge serve` processes, from `source` (a checkout) or this code."""
    code = "import sys; sys.path.insert(0, sys.argv.pop(1)); from app.cli import main; sys.exit(main())"
    started: list[subprocess.Popen[bytes]] = []
    try:
        for _ in range(count):
            port = harness.free_port()
            env = {**os.environ, "DATABASE_URL": database_url, "JWT_SECRET": harness.SECRET, "LOG_LEVEL": "WARNING"}
            argv = [
                sys.executable,
                "-c",
                code,
                source or str(harness.ROOT),
                "serve",
                "--no-migrate",
                "--port",
                str(port),
            ]
            process = subprocess.Popen(argv, env=env, cwd=source or harness.ROOT, stdout=subprocess.DEVNULL)
            started.append(process)
            harness._wait_ready(harness.Service(process, port), "/readyz")
        yield started
    finally:
        for process in started:
            with contextlib.suppress(ProcessLookupError):
                process.send_signal(signal.SIGTERM)
        for process in started:
            process.wait(30)


def _commits(database_url: str) -> int:
    with psycopg.connect(database_url, autocommit=True) as conn:
        row = conn.execute("SELECT xact_commit FROM pg_stat_database WHERE datname = current_database()").fetchone()
    return int(row[0]) if row else 0


def commits_per_second(database_url: str, count: int, seconds: float, source: str | None) -> float:
    with _processes(database_url, count, source):
        time.sleep(5)  # start-up's own transactions (the first ticks, the stats' flush) settle
        first = _commits(database_url)
        time.sleep(seconds)  # the figure is what idle processes do over this time: nothing to await
        return (_commits(database_url) - first) / seconds


def takeover_seconds(database_url: str, runs: int) -> list[float]:
    taken: list[float] = []
    with _processes(database_url, runs + 1, None) as processes, psycopg.connect(database_url, autocommit=True) as conn:
        for _ in range(runs):
            holder = _holder(conn, None)
            pid = int(holder.rsplit(":", 1)[1])
            if pid not in {process.pid for process in processes}:
                raise RuntimeError(f"the lock holder {holder} is none of the bench's processes")
            os.kill(pid, signal.SIGKILL)
            killed_at = time.perf_counter()
            _holder(conn, holder)
            taken.append(time.perf_counter() - killed_at)
    return taken


def _holder(conn: psycopg.Connection[tuple[object, ...]], other_than: str | None, timeout: float = 60) -> str:
    """The application_name of the lock's holder, once there is one other than `other_than`."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        row = conn.execute(_HOLDER, (LEADER_NAMESPACE, LEADER_KEY)).fetchone()
        if row and row[0] != other_than:
            return str(row[0])
        time.sleep(0.005)
    raise RuntimeError("no leader within the timeout")


def _median(values: Sequence[float]) -> float:
    return harness.median(list(values))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--seconds", type=float, default=30.0, help="how long the idle processes are watched")
    parser.add_argument("--before", help="a checkout of the code before the leader, run as the baseline")
    args = parser.parse_args()
    sources = {"leader": None, **({"before": args.before} if args.before else {})}
    with harness.database(durable=True) as url:
        for label, source in sources.items():
            for count in (1, 4):
                rates = [commits_per_second(url, count, args.seconds, source) for _ in range(args.runs)]
                each = ", ".join(f"{rate:.2f}" for rate in rates)
                print(f"{label}: {count} idle process(es): {_median(rates):.2f} commits/s (runs: {each})", flush=True)
        taken = takeover_seconds(url, args.runs)
        each = ", ".join(f"{seconds * 1000:.0f}" for seconds in taken)
        print(f"takeover after SIGKILL of the leader: median {_median(taken) * 1000:.0f} ms (runs: {each})")


if __name__ == "__main__":
    main()
