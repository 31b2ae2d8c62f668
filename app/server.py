"""Running the service: the database it needs, migrations, then uvicorn."""

from __future__ import annotations

import contextlib
import gc
import os
import signal
from collections.abc import Iterator
from types import FrameType

import uvicorn

from app.config import Settings
from app.db import embedded
from app.db.migrate import upgrade
from app.edge.http import EdgeHttpProtocol
from app.edge.limits import EdgeConfig, EdgeLimits
from app.ws.transport import BridgeWebSocketProtocol


@contextlib.contextmanager
def database(settings: Settings) -> Iterator[str]:
    """DATABASE_URL, or an embedded cluster under DATA_DIR for as long as the block runs."""
    if settings.database_url is not None:
        yield settings.database_url
        return
    with embedded.running(settings.data_dir / "postgres") as cluster:
        yield cluster.url()


# Collections of the middle generation between two full passes of the cyclic collector
# (CPython's default: 10).
_FULL_PASS_SPACING = 100


def settle_heap() -> None:
    """Leave what start-up built out of the cyclic garbage collector's full passes.

    The modules, routes, models and metadata loaded at start-up live as long as
    the process, and a full collection would scan them all again, every few
    hundred webhooks: about 90 ms on a two-core machine, during which no
    webhook is answered and no frame is sent. It was the largest delivery
    latency at 20 webhooks/s. Collected first, so no garbage is kept for good.

    Then full passes are spaced out. CPython runs one whenever ten young
    collections have passed and the objects that survived have grown by a
    quarter: while thousands of dashboards reconnect at once (some sixty tracked
    objects per socket), that is every few hundred handshakes, each pass walking
    every socket so far: 0.1-0.35 s apiece, 0.7-1.1 s of a 5,000-socket wave's
    CPU, with no frame sent meanwhile. A hundred collections of the middle
    generation between full passes (some 700,000 allocations) keeps a wave free
    of them; cyclic garbage among old objects is still collected, later."""
    gc.collect()
    gc.freeze()
    young, middle, _full = gc.get_threshold()
    gc.set_threshold(young, middle, _FULL_PASS_SPACING)


def uvicorn_config(settings: Settings, app: object, *, workers: int = 1) -> uvicorn.Config:
    return EdgeConfig(
        app,
        limits=EdgeLimits.from_settings(settings),
        host=settings.host,
        port=settings.port,
        workers=workers,
        lifespan="on",
        interface="asgi3",  # app.asgi.OpsBridgeApp's __call__ returns its awaitable instead of being a coroutine
        loop="uvloop",
        http=EdgeHttpProtocol,
        ws=BridgeWebSocketProtocol,
        ws_max_size=settings.ws_max_message_bytes,
        ws_ping_interval=settings.ws_ping_interval,
        ws_ping_timeout=settings.ws_ping_timeout,
        ws_per_message_deflate=True,
        timeout_graceful_shutdown=10,
        log_config=None,
        server_header=False,
    )


class Stopped(Exception):
    """SIGTERM arrived; the server has shut down gracefully and the stack unwinds."""


def _raise_stopped(_signum: int, _frame: FrameType | None) -> None:
    raise Stopped


def serve(settings: Settings, *, migrate: bool, workers: int = 1, banner: bool = True) -> None:
    """Run until SIGINT (KeyboardInterrupt) or SIGTERM (Stopped), then release the
    database: uvicorn shuts down gracefully and then re-raises the signal, which
    must unwind through here rather than kill the process before the embedded
    cluster is stopped."""
    from app.factory import create_app

    signal.signal(signal.SIGTERM, _raise_stopped)
    with database(settings) as url:
        settings = settings.model_copy(update={"database_url": url})
        if migrate:
            upgrade(url)
        if banner:
            print(_banner(settings), flush=True)  # noqa: T201 - the operator's first words from the service
        if workers > 1:
            # Worker processes import app.main, which reads the environment.
            os.environ["DATABASE_URL"] = url
            os.environ["ROLE"] = settings.role
            if settings.jwt_secret is not None and "JWT_SECRET" not in os.environ:
                os.environ["JWT_SECRET"] = settings.jwt_secret.get_secret_value()
            from app.observability.multiprocess import MetricsAwareMultiprocess, shared_metrics_dir

            config = uvicorn_config(settings, "app.main:app", workers=workers)
            with shared_metrics_dir():  # before any worker starts: each one's /metrics adds up all of them
                MetricsAwareMultiprocess(config, sockets=[config.bind_socket()]).run()
        else:
            config = uvicorn_config(settings, create_app(settings))
            config.load()  # the protocols and the loop's modules too, before the heap is settled
            settle_heap()
            uvicorn.Server(config).run()


def _banner(settings: Settings) -> str:
    base = f"{settings.host}:{settings.port}"
    return "\n".join(
        [
            f"Ops Bridge on http://{base} (API docs: http://{base}/docs)",
            "  a development token:  .venv/bin/ops-bridge token --sub you@example.com --roles admin",
            f"  watch the stream:     npx --yes wscat -c ws://{base}/api/ws "
            '-H "Authorization: Bearer $(.venv/bin/ops-bridge token --roles admin)"',
            f"  or in a browser:      http://{base}/console (sign in with such a token)",
        ]
    )
