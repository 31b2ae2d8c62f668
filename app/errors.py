"""Errors raised below the web layer, and the one place that maps them to HTTP.

    ServiceError                 every error the handlers below map
    ├── InputError               the request is wrong; 4xx, nothing stored
    │   ├── MalformedBody        400 INVALID_JSON: not JSON, not UTF-8
    │   ├── InvalidPayload       422 INVALID_PAYLOAD: JSON, but not the expected shape
    │   ├── BodyTooLarge         413 PAYLOAD_TOO_LARGE
    │   ├── Unauthenticated      401 UNAUTHENTICATED: missing or wrong credentials
    │   ├── Forbidden            403 FORBIDDEN: authenticated, not allowed
    │   ├── NotFound             404 NOT_FOUND
    │   ├── RateLimited          429 RATE_LIMITED: slow down (Retry-After says how long)
    │   └── Conflict             409 CONFLICT: the request collides with what is stored
    └── StoreUnavailable         503 DATABASE_UNAVAILABLE: retry later

Database connection failures (`DATABASE_DOWN`: SQLAlchemy's, psycopg's own when
it is used directly, a pool timeout, a socket error) are mapped to 503 as well,
so a sender retries instead of dropping the delivery. Anything else is
unexpected: a 500 whose body says nothing about it. Bodies never echo
credentials.
"""

from __future__ import annotations

import logging
import math
from typing import Any

import psycopg
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from sqlalchemy.exc import InterfaceError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeoutError

_log = logging.getLogger(__name__)

# The database is out of reach (or the pool found no connection in time): the
# caller should retry. psycopg's own classes are here for statements run on its
# connections directly, whose errors SQLAlchemy does not wrap. Builtin
# TimeoutError is an OSError.
DATABASE_DOWN: tuple[type[Exception], ...] = (
    OperationalError,
    InterfaceError,
    PoolTimeoutError,
    psycopg.OperationalError,
    psycopg.InterfaceError,
    OSError,
)


class ServiceError(Exception):
    status = 500
    code = "INTERNAL_ERROR"

    def __init__(self, message: str, *, details: list[dict[str, Any]] | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.details = details


class InputError(ServiceError):
    status = 400
    code = "BAD_REQUEST"


class MalformedBody(InputError):
    status = 400
    code = "INVALID_JSON"


class InvalidPayload(InputError):
    status = 422
    code = "INVALID_PAYLOAD"


class BodyTooLarge(InputError):
    status = 413
    code = "PAYLOAD_TOO_LARGE"

    def __init__(self, message: str, *, size: int | None = None) -> None:
        super().__init__(message)
        # The declared length, or (for a body sent without one) what had arrived when it was refused.
        self.size = size


class Unauthenticated(InputError):
    status = 401
    code = "UNAUTHENTICATED"


class Forbidden(InputError):
    status = 403
    code = "FORBIDDEN"


class NotFound(InputError):
    status = 404
    code = "NOT_FOUND"


class RateLimited(InputError):
    status = 429
    code = "RATE_LIMITED"

    def __init__(self, message: str, *, retry_after: float) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class Conflict(InputError):
    status = 409
    code = "CONFLICT"


class StoreUnavailable(ServiceError):
    status = 503
    code = "DATABASE_UNAVAILABLE"


def error_body(code: str, message: str, details: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    error: dict[str, Any] = {"code": code, "message": message}
    if details:
        error["details"] = details
    return {"error": error}


def _respond(error: ServiceError) -> JSONResponse:
    headers = None
    if isinstance(error, StoreUnavailable):
        headers = {"Retry-After": "5"}
    elif isinstance(error, Unauthenticated):
        headers = {"WWW-Authenticate": "Bearer"}
    elif isinstance(error, RateLimited):
        headers = {"Retry-After": str(max(1, math.ceil(error.retry_after)))}
    return JSONResponse(error_body(error.code, error.message, error.details), error.status, headers=headers)


def response_for(error: Exception) -> JSONResponse | None:
    """The answer to a request that raised `error`; None when it was not expected
    (the caller lets it propagate: a 500 that says nothing about it, and a logged traceback)."""
    if isinstance(error, ServiceError):
        return _respond(error)
    if isinstance(error, DATABASE_DOWN):
        _log.warning("database unavailable: %s", type(error).__name__)
        return _respond(StoreUnavailable("the database is unavailable; retry later"))
    return None


async def _mapped(_: Request, exc: Exception) -> JSONResponse:
    response = response_for(exc)
    if response is None:
        raise exc
    return response


async def _validation(_: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    details = [{"field": ".".join(str(p) for p in err["loc"]), "problem": err["msg"]} for err in exc.errors()]
    return _respond(InvalidPayload("the request does not have the expected shape", details=details))


def install(app: FastAPI) -> None:
    app.add_exception_handler(ServiceError, _mapped)
    app.add_exception_handler(RequestValidationError, _validation)
    for db_error in DATABASE_DOWN:
        app.add_exception_handler(db_error, _mapped)
