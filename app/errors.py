"""The service's own errors, raised anywhere below the web layer.

    ServiceError                 every error the service answers on purpose
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

Pure on purpose: adapters and the domain raise these without importing the web
framework or the database driver. The driver's errors become `StoreUnavailable`
in one place (`app/db/failures.py`); HTTP answers are made in one place
(`app/api/error_responses.py`); the socket answers with the same codes.
"""

from __future__ import annotations

from typing import Any


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
