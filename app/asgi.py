"""The ASGI application: the stream straight to its endpoint, everything else through FastAPI.

A subscriber's socket lives for hours and there may be thousands of them.
Routed through FastAPI, each would keep its middleware, routing and dependency
frames alive for the whole connection (several KiB apiece) for nothing the
stream uses: it authenticates, answers and closes by itself.
"""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI, WebSocket
from starlette.datastructures import State
from starlette.types import Receive, Scope, Send

from app.observability.requests import RequestIdMiddleware
from app.ws.endpoint import STREAM_PATH, stream


class OpsBridgeApp:
    def __init__(self, api: FastAPI) -> None:
        self.api = api
        # The stream's connections get a request id for their log lines too.
        self._stream = RequestIdMiddleware(self._serve_stream)

    @property
    def state(self) -> State:
        return self.api.state

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "websocket" and scope["path"] == STREAM_PATH:
            await self._stream(scope, receive, send)
            return
        await self.api(scope, receive, send)

    async def _serve_stream(self, scope: Scope, receive: Receive, send: Send) -> None:
        scope["app"] = self.api
        await stream(WebSocket(scope, receive, send))

    def __getattr__(self, name: str) -> Any:
        # openapi(), routes and the rest are the FastAPI app's.
        return getattr(self.api, name)
