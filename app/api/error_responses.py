"""The one place the service's errors become HTTP answers.

A body cut short (the client went away, or the edge gave up waiting for it:
app/edge/http.py) reaches an endpoint as Starlette's ClientDisconnect, answered
as IncompleteBody: a request error, never a 500 with a traceback. The answer is
seldom read (the edge has already answered 408, or nobody is left).

`ServiceError`s answer with their status and code; a database that cannot
serve now (`app/db/failures.py`) answers 503 with Retry-After, so a sender
retries instead of dropping the delivery. Anything else is unexpected: a 500
whose body says nothing about it. Bodies never echo credentials.
"""

from __future__ import annotations

import logging
import math

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.requests import ClientDisconnect

from app.db.failures import DRIVER_ERRORS, kind_of, unavailable
from app.errors import (
    IncompleteBody,
    InvalidPayload,
    RateLimited,
    ServiceError,
    StoreUnavailable,
    Unauthenticated,
    error_body,
)

_log = logging.getLogger(__name__)


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


def install(app: FastAPI) -> None:
    app.add_exception_handler(ServiceError, _mapped)
    app.add_exception_handler(ClientDisconnect, _mapped)
    app.add_exception_handler(RequestValidationError, _validation)
    for driver_error in DRIVER_ERRORS:
        app.add_exception_handler(driver_error, _mapped)
