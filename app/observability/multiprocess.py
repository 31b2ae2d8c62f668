"""Metrics under `ops-bridge serve --workers N`.

Each worker is its own process with its own counters; a scrape lands on any
one of them. prometheus_client's multiprocess mode has every worker write its
values to files in one directory (PROMETHEUS_MULTIPROC_DIR, which must be set
before a worker creates its first metric: the workers are started with it in
their environment), and /metrics adds them up (app/api/prometheus.py).

The directory starts empty, so values of an earlier run never leak in. When a
worker dies its counters stay (totals must not go backwards) but its live
gauges (open connections...) must stop counting: the supervisor tells
prometheus_client which workers are gone.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from collections.abc import Iterable, Iterator
from pathlib import Path

from prometheus_client.multiprocess import mark_process_dead
from uvicorn.supervisors import Multiprocess

MULTIPROCESS_ENV = "PROMETHEUS_MULTIPROC_DIR"


@contextlib.contextmanager
def shared_metrics_dir() -> Iterator[Path]:
    """PROMETHEUS_MULTIPROC_DIR for the workers: the one configured (emptied first), or a private one."""
    configured = os.environ.get(MULTIPROCESS_ENV)
    if configured:
        path = Path(configured)
        path.mkdir(parents=True, exist_ok=True)
        for stale in path.glob("*.db"):
            stale.unlink()
        yield path
        return
    with tempfile.TemporaryDirectory(prefix="ops-bridge-metrics-") as made:
        os.environ[MULTIPROCESS_ENV] = made
        try:
            yield Path(made)
        finally:
            os.environ.pop(MULTIPROCESS_ENV, None)


class MetricsAwareMultiprocess(Multiprocess):
    """uvicorn's supervisor, marking each worker that is gone (died, restarted, scaled down) dead."""

    def keep_subprocess_alive(self) -> None:
        before = self._pids()
        super().keep_subprocess_alive()
        forget_workers(before - self._pids())

    def handle_signals(self) -> None:
        before = self._pids()
        super().handle_signals()
        forget_workers(before - self._pids())

    def _pids(self) -> set[int]:
        return {process.pid for process in self.processes if process.pid is not None}


def forget_workers(pids: Iterable[int]) -> None:
    """Workers `pids` are gone: their live gauges stop counting (their counters stay)."""
    directory = os.environ.get(MULTIPROCESS_ENV)
    for pid in pids:
        mark_process_dead(pid, directory)  # type: ignore[no-untyped-call]
