"""A request id for every HTTP request and WebSocket connection.

Taken from `X-Request-ID` when the caller (a proxy, say) sent a sane one,
else made here; echoed in the response's `X-Request-ID`; and kept in a
contextvar for the request's lifetime, so every log line written while serving
it carries it (app/logs.py). A pure ASGI middleware: no body buffering, and
WebSockets pass through untouched but for the id.
"""

from __future__ import annotations

import os
import re

from starlette.datastructures import MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from app.logs import request_id

HEADER = "X-Request-ID"
_SANE = re.compile(r"^[A-Za-z0-9._:/+=-]{1,128}$")
_RESPONSE_STARTS = frozenset({"http.response.start", "websocket.http.response.start"})


def incoming_id(scope: Scope) -> str | None:
    """The caller's request id, if it sent one fit for a log line (short, no spaces or control characters)."""
    for name, value in scope.get("headers", ()):
        if name == b"x-request-id":
            text = value.decode("latin-1")
            return text if _SANE.match(text) else None
    return None


def new_id() -> str:
    """A random UUID (version 4) as 32 hex digits, as `uuid.uuid4().hex` makes it, without
    the UUID object whose checks cost three times the random bytes."""
    raw = bytearray(os.urandom(16))
    raw[6] = raw[6] & 0x0F | 0x40  # version 4
    raw[8] = raw[8] & 0x3F | 0x80  # RFC 4122 variant
    return raw.hex()


def with_request_id(scope: Scope) -> None:
    """Set the request id of a connection that lives in a task of its own (uvicorn runs each
    WebSocket so, and the task's context dies with it: nothing needs resetting), without the
    middleware's frame, which would stay alive as long as the connection. The answers that
    carry the id (a refused handshake's) read it from the context."""
    request_id.set(incoming_id(scope) or new_id())


class RequestIdMiddleware:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] not in ("http", "websocket"):
            await self.app(scope, receive, send)
            return
        rid = incoming_id(scope) or new_id()
        token = request_id.set(rid)

        async def send_with_id(message: Message) -> None:
            if message["type"] in _RESPONSE_STARTS:
                MutableHeaders(scope=message).append(HEADER, rid)
            await send(message)

        try:
            await self.app(scope, receive, send_with_id)
        finally:
            request_id.reset(token)
