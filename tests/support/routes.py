"""Every path the application serves, whatever router or mount it comes through."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from app.asgi import OpsBridgeApp
from app.config import Settings
from app.factory import create_app
from app.ws.endpoint import STREAM_PATH, stream
from tests.conftest import JWT_SECRET


def app_for_reading() -> OpsBridgeApp:
    """The app as `serve` builds it; nothing connects until its lifespan starts."""
    return create_app(Settings(_env_file=None, database_url="postgresql://unused/unused", jwt_secret=JWT_SECRET))


def _walk(routes: Iterable[Any], prefix: str = "") -> Iterable[tuple[str, Any]]:
    for route in routes:
        included = getattr(route, "original_router", None)
        if included is not None:
            yield from _walk(included.routes, prefix)
            continue
        path = prefix + str(getattr(route, "path", ""))
        yield path, route
        if hasattr(route, "routes") and type(route).__name__ == "Mount":
            yield from _walk(route.routes, path)


def served_paths(app: OpsBridgeApp | None = None) -> dict[str, Any]:
    """Path to route, for every route (HTTP, WebSocket, mounts), the stream included."""
    served = app or app_for_reading()
    return {**dict(_walk(served.api.routes)), STREAM_PATH: stream}
