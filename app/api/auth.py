"""HTTP authentication and authorization, as FastAPI dependencies.

The same tokens and the same rules as the socket: a caller never reads over
HTTP what its claims would not let it receive as a message.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated

from fastapi import Depends, Request, Security
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from app.auth.credentials import authenticate
from app.auth.principal import Principal
from app.auth.tokens import TokenError
from app.errors import Forbidden, Unauthenticated
from app.runtime import runtime_of

# Declared so /docs offers "Authorize" and documents the scheme; the token is
# read (from the header or the session cookie) by `authenticate`, as for the socket.
_BEARER = HTTPBearer(
    auto_error=False,
    bearerFormat="JWT",
    description="The socket's JWT; browsers may send the session cookie instead.",
)


def current_principal(
    request: Request, _declared: Annotated[HTTPAuthorizationCredentials | None, Security(_BEARER)]
) -> Principal:
    """The dependency: `_declared` only puts the bearer scheme into the OpenAPI document."""
    return principal_of(request)


def principal_of(request: Request) -> Principal:
    """The caller's principal from any carrier the socket accepts; 401/403 otherwise."""
    runtime = runtime_of(request)
    try:
        return authenticate(request, runtime.verifier, runtime.settings).principal
    except TokenError as exc:
        if exc.status == 403:
            raise Forbidden(exc.reason) from None
        raise Unauthenticated(exc.reason) from None


Authenticated = Annotated[Principal, Depends(current_principal)]


def require_role(*roles: str) -> Callable[[Principal], Principal]:
    """A dependency admitting principals holding any of `roles` (admin always)."""
    wanted = frozenset(roles) | {"admin"}

    def check(principal: Authenticated) -> Principal:
        if not principal.roles & wanted:
            raise Forbidden(f"this needs the role {' or '.join(sorted(wanted))}")
        return principal

    return check


Publisher = Annotated[Principal, Depends(require_role("publisher"))]
