"""The ASGI application: the stream and the webhooks straight to their endpoints,
everything else through FastAPI.

A subscriber's socket lives for hours and there may be thousands of them.
Routed through FastAPI, each would keep its middleware, routing and dependency
frames alive for the whole connection (several KiB apiece) for nothing the
stream uses: it authenticates, answers and closes by itself.

A webhook is the one request that comes by the hundred a second, and its
endpoint takes the bare request and answers by itself too. Through FastAPI it
would pay for a stack of middleware, matching against every route, dependency
solving and response-header bookkeeping: a fifth of the service's CPU under
ingest load. The webhook lane serves exactly `POST <path>` of each webhook
route with the route's own endpoint, wrapped as FastAPI would wrap it for what
can be seen from outside: Starlette's ServerErrorMiddleware (an unexpected
error: a bare 500 and a logged traceback), the request id, and the same
error-to-answer mapping as the application's exception handlers
(`app.api.error_responses.response_for`). Anything else on those paths (another method, a
trailing slash, a root path) goes to FastAPI, so it is answered as before. The
routes stay declared in FastAPI, which documents them (/openapi.json).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable, Mapping
from typing import Any

from fastapi import APIRouter, FastAPI, Request, WebSocket
from fastapi.routing import APIRoute
from starlette.datastructures import State
from starlette.middleware.errors import ServerErrorMiddleware
from starlette.responses import Response
from starlette.types import Receive, Scope, Send

from app.api.error_responses import response_for
from app.observability.requests import RequestIdMiddleware, with_request_id
from app.ws.endpoint import STREAM_PATH, stream

WEBHOOK_PREFIX = "/api/webhooks/"

Endpoint = Callable[[Request], Awaitable[Response]]


def webhook_endpoints(routers: Iterable[APIRouter]) -> dict[str, Endpoint]:
    """The endpoint of each `POST /api/webhooks/...` route of `routers` that the lane can
    serve: one that takes the bare request and nothing FastAPI would have to resolve."""
    return {
        route.path: route.endpoint
        for router in routers
        for route in router.routes
        if isinstance(route, APIRoute)
        and route.path.startswith(WEBHOOK_PREFIX)
        and route.methods == {"POST"}
        and _takes_the_bare_request(route)
    }


def _takes_the_bare_request(route: APIRoute) -> bool:
    wants = route.dependant
    resolved_by_fastapi = (
        route.dependencies,
        route.param_convertors,
        wants.dependencies,
        wants.path_params,
        wants.query_params,
        wants.header_params,
        wants.cookie_params,
        wants.body_params,
        wants.response_param_name,
        wants.background_tasks_param_name,
    )
    return (
        type(route) is APIRoute  # a subclass may handle requests its own way
        and route.max_body_size is None
        and wants.request_param_name is not None
        and not any(resolved_by_fastapi)
    )


class OpsBridgeApp:
    def __init__(self, api: FastAPI, webhooks: Mapping[str, Endpoint] | None = None) -> None:
        self.api = api
        self.webhook_endpoints: Mapping[str, Endpoint] = dict(webhooks or {})
        # In FastAPI's order: the 500 is sent outside the request id, as there.
        self._webhook = ServerErrorMiddleware(
            RequestIdMiddleware(self._serve_webhook), handler=_server_error_handler(api), debug=api.debug
        )

    @property
    def state(self) -> State:
        return self.api.state

    def __call__(self, scope: Scope, receive: Receive, send: Send) -> Awaitable[None]:
        # Not a coroutine of its own: it hands back the one that serves the request, so a
        # subscriber's hours-long connection keeps no frame of this dispatch alive (with the
        # stream's below, about 1 KiB per socket and one object fewer for every full
        # collection to walk). uvicorn is told the interface (app/server.py), as it would
        # otherwise take a plain method for ASGI 2.
        kind = scope["type"]
        if kind == "http":
            if scope["method"] == "POST" and scope["path"] in self.webhook_endpoints and not scope.get("root_path"):
                return self._webhook(scope, receive, send)
        elif kind == "websocket" and scope["path"] == STREAM_PATH:
            return self._serve_stream(scope, receive, send)
        return self.api(scope, receive, send)

    def _serve_stream(self, scope: Scope, receive: Receive, send: Send) -> Awaitable[None]:
        scope["app"] = self.api
        with_request_id(scope)
        return stream(WebSocket(scope, receive, send))

    async def _serve_webhook(self, scope: Scope, receive: Receive, send: Send) -> None:
        scope["app"] = self.api
        endpoint = self.webhook_endpoints[scope["path"]]
        try:
            response = await endpoint(Request(scope, receive, send))
        except Exception as error:
            mapped = response_for(error)
            if mapped is None:
                raise
            response = mapped
        await response(scope, receive, send)

    def __getattr__(self, name: str) -> Any:
        # openapi(), routes and the rest are the FastAPI app's.
        return getattr(self.api, name)


def _server_error_handler(api: FastAPI) -> Any:
    """The handler FastAPI gives its ServerErrorMiddleware: one registered for 500 or Exception, if any."""
    handlers = {key: value for key, value in api.exception_handlers.items() if key in (500, Exception)}
    return next(reversed(handlers.values()), None)
