"""Errors raised below the web layer, and the one place that maps them to HTTP.

    ServiceError                 every error the handlers below map
    ├── InputError               the request is wrong; 4xx, nothing stored
    │   ├── MalformedBody        400 INVALID_JSON: not JSON, not UTF-8
    │   ├── IncompleteBody       400 INCOMPLETE_BODY: the client stopped sending the body it announced
    │   ├── InvalidPayload       422 INVALID_PAYLOAD: JSON, but not the expected shape
    │   ├── BodyTooLarge         413 PAYLOAD_TOO_LARGE
    │   ├── Unauthenticated      401 UNAUTHENTICATED: missing or wrong credentials
    │   ├── Forbidden            403 FORBIDDEN: authenticated, not allowed
    │   ├── NotFound             404 NOT_FOUND
    │   ├── RateLimited          429 RATE_LIMITED: slow down (Retry-After says how long)
    │   └── Conflict             409 CONFLICT: the request collides with what is stored
    └── StoreUnavailable         503 DATABASE_UNAVAILABLE: retry later

A database that cannot serve now becomes StoreUnavailable in one place,
`unavailable()`: whichever way it was said (SQLAlchemy's wrappers, psycopg's
own errors from statements run on its connections directly, the pool's
timeout, a socket error) and whatever the cause (unreachable, restarting, out
of connections, or read-only: a hot standby, or a primary during failover).
HTTP answers it 503 with Retry-After, so a sender retries instead of dropping
the delivery; the socket answers UNAVAILABLE. Anything else is unexpected: a
500 whose body says nothing about it. Bodies never echo credentials.

A body cut short (the client went away, or the edge gave up waiting for it:
app/edge/http.py) reaches an endpoint as Starlette's ClientDisconnect, mapped
here to IncompleteBody: a request error, never a 500 with a traceback. The
answer is seldom read (the edge has already answered 408, or nobody is left).
"""

from __future__ import annotations

import logging
import math
from typing import Any

import psycopg
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from sqlalchemy.exc import DBAPIError, InterfaceError, OperationalError, SQLAlchemyError
from sqlalchemy.exc import TimeoutError as PoolTimeoutError
from starlette.requests import ClientDisconnect

_log = logging.getLogger(__name__)

# SQLSTATE classes and codes that say "not now" rather than "never": connection
# exceptions (08), insufficient resources (53: too many connections, disk
# full), operator intervention (57P: shutdown, restart, cannot connect now),
# and a read-only transaction (25006: a hot standby, or a primary being failed
# over). psycopg files most of them under OperationalError; not 25006.
_UNAVAILABLE_CLASSES = ("08", "53", "57P")
_READ_ONLY = "25006"


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


class IncompleteBody(InputError):
    status = 400
    code = "INCOMPLETE_BODY"


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


def unavailable(error: BaseException) -> StoreUnavailable | None:
    """The service's error for a database that cannot serve now, or None when `error` says
    something else (a bug, a constraint the caller handles): the one place driver errors
    become the service's."""
    if isinstance(error, StoreUnavailable):
        return error
    cause = _cause(error)
    state = getattr(cause, "sqlstate", None)
    if (
        (isinstance(error, DBAPIError) and error.connection_invalidated)
        or isinstance(error, OperationalError | InterfaceError)  # SQLAlchemy's names for psycopg's
        or isinstance(cause, PoolTimeoutError | OSError | psycopg.OperationalError | psycopg.InterfaceError)
        or (isinstance(state, str) and (state == _READ_ONLY or state.startswith(_UNAVAILABLE_CLASSES)))
    ):
        return StoreUnavailable("the database is unavailable; retry later")
    return None


def kind_of(error: BaseException) -> str:
    """What went wrong, for a log line: the driver error's class and SQLSTATE, never its
    message (which may name hosts and users)."""
    cause = _cause(error)
    state = getattr(cause, "sqlstate", None)
    return type(cause).__name__ + (f" ({state})" if isinstance(state, str) else "")


def _cause(error: BaseException) -> BaseException:
    """psycopg's error under SQLAlchemy's wrapper, or the error itself."""
    return error.orig if isinstance(error, DBAPIError) and isinstance(error.orig, BaseException) else error


def response_for(error: Exception) -> JSONResponse | None:
    """The answer to a request that raised `error`; None when it was not expected
    (the caller lets it propagate: a 500 that says nothing about it, and a logged traceback)."""
    if isinstance(error, ServiceError):
        return _respond(error)
    if isinstance(error, ClientDisconnect):
        return _respond(IncompleteBody("the body ended before the length it announced"))
    mapped = unavailable(error)
    if mapped is None:
        return None
    _log.warning("database unavailable: %s", kind_of(error))
    return _respond(mapped)


async def _mapped(_: Request, exc: Exception) -> JSONResponse:
    response = response_for(exc)
    if response is None:
        raise exc
    return response


async def _validation(_: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    details = [{"field": ".".join(str(p) for p in err["loc"]), "problem": err["msg"]} for err in exc.errors()]
    return _respond(InvalidPayload("the request does not have the expected shape", details=details))


# Where `unavailable()` may find an answer: FastAPI dispatches handlers by class.
DRIVER_ERRORS: tuple[type[Exception], ...] = (SQLAlchemyError, psycopg.Error, OSError)


def install(app: FastAPI) -> None:
    app.add_exception_handler(ServiceError, _mapped)
    app.add_exception_handler(ClientDisconnect, _mapped)
    app.add_exception_handler(RequestValidationError, _validation)
    for driver_error in DRIVER_ERRORS:
        app.add_exception_handler(driver_error, _mapped)
