"""Request-scoped access to the process runtime."""

from __future__ import annotations

from starlette.requests import HTTPConnection

from app.runtime import Runtime


def runtime_of(connection: HTTPConnection) -> Runtime:
    runtime: Runtime = connection.app.state.runtime
    return runtime
