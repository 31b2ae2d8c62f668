"""GET /metrics: the Prometheus text format.

One process (`ops-bridge serve`, one per container): its own metrics, with
the Python client's process_* and python_* series. Several worker processes
(`ops-bridge serve --workers N`): a scrape reaches whichever worker the kernel
hands the connection to, so every worker writes its values to files in
PROMETHEUS_MULTIPROC_DIR (set up by `serve`) and each scrape adds up those of
all workers (counters and histograms summed, gauges as each declares); the
process_* series then come once per running worker, with a `pid` label.
"""

from __future__ import annotations

import functools
import glob
import os
from collections.abc import Iterable
from pathlib import Path

from fastapi import APIRouter, Request, Response
from prometheus_client import CONTENT_TYPE_LATEST, REGISTRY, CollectorRegistry, generate_latest
from prometheus_client.metrics_core import Metric
from prometheus_client.multiprocess import MultiProcessCollector
from prometheus_client.process_collector import ProcessCollector
from prometheus_client.registry import Collector
from prometheus_client.samples import Sample

from app.api.responses import ErrorBody
from app.auth.webhook_signatures import bearer_or_basic_password, same_secret
from app.errors import Unauthenticated
from app.observability import metrics
from app.observability.multiprocess import MULTIPROCESS_ENV
from app.runtime import runtime_of

router = APIRouter(tags=["operations"])


def multiprocess_dir() -> Path | None:
    configured = os.environ.get(MULTIPROCESS_ENV)
    return Path(configured) if configured else None


def worker_pids(directory: Path) -> list[int]:
    """Workers that wrote metrics and are still running (files are named `<kind>_<pid>.db`)."""
    pids = set()
    for path in directory.glob("*.db"):
        tail = path.stem.rsplit("_", 1)[-1]
        if tail.isdigit() and Path(f"/proc/{tail}").exists():
            pids.add(int(tail))
    return sorted(pids)


class WorkerProcesses(Collector):
    """process_* series (CPU, memory, file descriptors) of every running worker, labelled by pid."""

    def __init__(self, directory: Path) -> None:
        self._directory = directory

    def collect(self) -> Iterable[Metric]:
        families: dict[str, Metric] = {}
        for pid in worker_pids(self._directory):
            for family in ProcessCollector(pid=functools.partial(int, pid), registry=None).collect():
                merged = families.setdefault(family.name, Metric(family.name, family.documentation, family.type))
                merged.samples += [_with_pid(sample, pid) for sample in family.samples]
        return list(families.values())


def _with_pid(sample: Sample, pid: int) -> Sample:
    return sample._replace(labels={**sample.labels, "pid": str(pid)})


class WorkerFiles(MultiProcessCollector):
    """prometheus_client's collector, blind to a file a starting worker has created but not sized yet.

    A worker creates its file first and sizes it a moment later; read in between, its missing
    header fails the whole scrape (prometheus/client_python#1199), and a worker killed in that
    moment would fail every scrape after. Such a file holds no values yet: skipping it loses nothing."""

    def collect(self) -> Iterable[Metric]:
        files = [path for path in glob.glob(os.path.join(self._path, "*.db")) if _sized(path)]
        return self.merge(files, accumulate=True)  # type: ignore[no-any-return,no-untyped-call]


def _sized(path: str) -> bool:
    try:
        return os.path.getsize(path) >= _HEADER_BYTES
    except FileNotFoundError:  # a dead worker's file, removed meanwhile
        return False


# The used-bytes count and padding at the start of every file (prometheus_client.mmap_dict).
_HEADER_BYTES = 8


def registry() -> CollectorRegistry:
    directory = multiprocess_dir()
    if directory is None:
        return REGISTRY
    combined = CollectorRegistry()
    WorkerFiles(combined, path=str(directory))  # type: ignore[no-untyped-call]
    combined.register(WorkerProcesses(directory))
    return combined


@router.get(
    "/metrics",
    summary="Prometheus metrics (text format)",
    response_class=Response,
    responses={
        200: {
            "content": {
                CONTENT_TYPE_LATEST: {
                    "schema": {"type": "string"},
                    "example": "# HELP ops_bridge_ws_connections Open WebSocket connections on /api/ws\n"
                    "# TYPE ops_bridge_ws_connections gauge\nops_bridge_ws_connections 12.0\n",
                }
            },
            "description": "The metrics, in the Prometheus text format",
        },
        401: {"model": ErrorBody, "description": "METRICS_TOKEN is set and the bearer token is missing or wrong"},
    },
)
def prometheus_metrics(request: Request) -> Response:
    """Every worker's figures under `serve --workers N`; `Authorization: Bearer <METRICS_TOKEN>` when set."""
    # A plain `def`: FastAPI runs it in a thread, so reading the workers' files never blocks the loop.
    runtime = runtime_of(request)
    expected = runtime.settings.metrics_token
    if expected is not None and not same_secret(expected.get_secret_value(), bearer_or_basic_password(request)):
        raise Unauthenticated("METRICS_TOKEN is set: scrape with 'Authorization: Bearer <METRICS_TOKEN>'")
    if runtime.hub.started:
        metrics.EVENT_LOG_POSITION.set(runtime.hub.position)
    return Response(generate_latest(registry()), media_type=CONTENT_TYPE_LATEST)
