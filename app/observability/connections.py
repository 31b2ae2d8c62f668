"""One log line when a WebSocket connection opens and one when it closes, and the
connection and subscription gauges."""

from __future__ import annotations

import contextlib
import logging
import time
from collections.abc import Iterator, Mapping
from typing import Any, Protocol

from app.logs import fields
from app.observability import metrics

_log = logging.getLogger("app.ws.connections")


class _Subscriber(Protocol):
    @property
    def topics(self) -> Mapping[str, Any] | None: ...

    @property
    def delivered(self) -> int: ...


class _Session(Protocol):
    @property
    def id(self) -> str: ...

    @property
    def subscriber(self) -> _Subscriber: ...

    @property
    def close_code(self) -> int | None: ...


@contextlib.contextmanager
def observed_connection(session: _Session, *, sub: str, carrier: str) -> Iterator[None]:
    """Around a connection's whole life, from the accepted handshake to the close."""
    started = time.monotonic()
    metrics.connection_opened()
    _log.info("connection opened", extra=fields(connection_id=session.id, sub=sub, carrier=carrier))
    try:
        yield
    finally:
        metrics.connection_closed(session.subscriber.topics)
        _log.info(
            "connection closed",
            extra=fields(
                connection_id=session.id,
                sub=sub,
                carrier=carrier,
                duration_s=round(time.monotonic() - started, 3),
                close_code=session.close_code,
                delivered=session.subscriber.delivered,
            ),
        )
