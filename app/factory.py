"""The application, built from settings: `create_app(settings)`."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Callable, Coroutine
from typing import Any

from fastapi import FastAPI
from sqlalchemy.ext.asyncio import AsyncEngine

from app import __version__
from app.api import (
    assets,
    asyncapi,
    docs_pages,
    error_responses,
    events,
    health,
    metric_samples,
    notifications,
    prometheus,
    reads,
    webhooks_alerts,
    webhooks_jira,
)
from app.asgi import OpsBridgeApp, webhook_endpoints
from app.auth.tokens import TokenVerifier
from app.broker.edge_feed import EdgeFeed
from app.broker.relay import Relay
from app.client import routes as client_routes
from app.config import ConfigError, Settings
from app.console import routes as console_routes
from app.console import session as console_session
from app.db.engine import create_engine
from app.fanout.hub import Hub
from app.fanout.listener import Listener
from app.jobs import Jobs
from app.leadership import Leadership
from app.logs import install_redaction
from app.monitoring_jobs import register_monitoring_jobs
from app.observability.requests import RequestIdMiddleware
from app.ops.retention import register_delivery_jobs
from app.ratelimit import BucketsByKey
from app.runtime import Feed, NoFeed, Runtime, SenderLimits, log_reader, newest_reader, replay_over
from app.store import event_retention as retention

_log = logging.getLogger(__name__)

# How long start-up waits for the listener before serving anyway (not ready).
_LISTENER_START_TIMEOUT = 10.0

# Each feature that needs periodic work registers its jobs here.
JobRegistrar = Callable[[Jobs, Settings], None]
_JOB_REGISTRARS: list[JobRegistrar] = [retention.register_jobs, register_monitoring_jobs, register_delivery_jobs]


def _feed(settings: Settings, hub: Hub, listen_url: str, engine: AsyncEngine) -> Feed:
    """What feeds this process's hub, by its role (docs/deployment.md#roles)."""
    if settings.role == "all":
        return Listener(listen_url, hub, poll_interval=settings.listener_poll_interval)
    if settings.role != "edge":
        return NoFeed()
    assert settings.broker_url is not None  # load_settings refuses a role without it
    return EdgeFeed(
        settings.broker_url.get_secret_value(),
        settings.broker_stream,
        hub,
        read_log=log_reader(engine),
        newest_position=newest_reader(engine),
    )


def _relay(settings: Settings, listen_url: str) -> Relay | None:
    if settings.role != "relay":
        return None
    assert settings.broker_url is not None
    return Relay(
        listen_url=listen_url,
        broker_url=settings.broker_url.get_secret_value(),
        stream_name=settings.broker_stream,
        max_events=settings.broker_stream_max_events,
        poll_interval=settings.listener_poll_interval,
    )


def _side_tasks(listener: Feed, relay: Relay | None) -> list[tuple[str, Callable[[], Coroutine[Any, Any, None]]]]:
    tasks: list[tuple[str, Callable[[], Coroutine[Any, Any, None]]]] = []
    if isinstance(listener, Listener | EdgeFeed):
        tasks.append(("event-listener", listener.run))
    if relay is not None:
        tasks.append(("relay", relay.run))
    return tasks


async def _wait_ready(listener: Listener | EdgeFeed) -> None:
    try:
        async with asyncio.timeout(_LISTENER_START_TIMEOUT):
            await listener.wait_ready()
    except TimeoutError:
        _log.error("event feed not connected after %.0fs; serving, not ready", _LISTENER_START_TIMEOUT)


def create_app(settings: Settings) -> OpsBridgeApp:
    install_redaction()
    if settings.database_url is None:
        raise ConfigError("DATABASE_URL is not set: start the service with 'ops-bridge serve'")
    database_url = settings.database_url
    listen_url = settings.database_listen_url or database_url

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        engine = create_engine(
            database_url,
            pool_size=settings.database_pool_size,
            max_overflow=settings.database_max_overflow,
            keep_idle=settings.role != "edge",
            application_name="ops-bridge" if settings.role == "all" else f"ops-bridge-{settings.role}",
        )
        hub = Hub(max_buffered_bytes=settings.ws_max_buffered_bytes, recent_capacity=settings.replay_buffer_events)
        listener = _feed(settings, hub, listen_url, engine)
        relay = _relay(settings, listen_url)
        app.state.runtime = Runtime(
            settings=settings,
            engine=engine,
            hub=hub,
            listener=listener,
            relay=relay,
            verifier=TokenVerifier.from_settings(settings),
            replay=replay_over(
                engine,
                hub,
                concurrency=settings.replay_max_concurrent_reads,
                stream=listener if isinstance(listener, EdgeFeed) else None,
            ),
            sender_limits=SenderLimits(settings.webhook_rate_limit_per_second),
            auth_failures=BucketsByKey(
                rate=settings.webhook_auth_failures_per_minute / 60.0, burst=settings.webhook_auth_failures_per_minute
            ),
        )
        app.state.runtime.outbound.retry_delay = settings.sns_confirmation_retry_seconds
        app.state.runtime.outbound.start()
        # Its own direct connection: a session lock cannot go through a transaction pooler.
        jobs = Jobs(engine, Leadership(listen_url))
        if settings.role != "edge":  # an edge holds no connection of its own: their number must not cost any
            for register in _JOB_REGISTRARS:
                register(jobs, settings)
            jobs.start()
        tasks = [asyncio.create_task(run(), name=name) for name, run in _side_tasks(listener, relay)]
        try:
            if isinstance(listener, Listener | EdgeFeed):
                await _wait_ready(listener)
            yield
        finally:
            await app.state.runtime.outbound.stop()
            for writer in app.state.runtime.writers.values():
                await writer.stop()
            if settings.role != "edge":
                await jobs.stop()
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
            await engine.dispose()

    app = FastAPI(
        title="Ops Bridge",
        summary="Jira and monitoring webhooks to authenticated WebSocket subscribers",
        description=(
            "The REST API and the webhooks. The WebSocket stream (`GET /api/ws`) is described, message by message, "
            "by the AsyncAPI document at [/asyncapi.json](/asyncapi.json)."
        ),
        version=__version__,
        lifespan=lifespan,
        # Served by app/api/docs_pages.py from the service itself, not from a CDN.
        docs_url=None,
        redoc_url=None,
    )
    error_responses.install(app)
    app.add_middleware(RequestIdMiddleware)
    # Included as they are (no prefix, no dependencies): the webhook lane serves their routes as declared.
    webhook_routers = (webhooks_jira.router, webhooks_alerts.router)
    for router in webhook_routers:
        app.include_router(router)
    app.include_router(metric_samples.router)
    app.include_router(health.router)
    app.include_router(console_session.router)
    app.include_router(console_routes.router)
    app.include_router(client_routes.router)
    app.include_router(reads.router)
    app.include_router(assets.router)
    app.include_router(notifications.router)
    app.include_router(events.router)
    app.include_router(prometheus.router)
    app.include_router(asyncapi.router)
    app.include_router(docs_pages.router)
    return OpsBridgeApp(app, webhook_endpoints(webhook_routers))
