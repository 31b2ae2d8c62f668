"""HTTP authentication and authorization, as FastAPI dependencies.

The same tokens and the same rules as the socket: a caller never reads over
HTTP what its claims would not let it receive as a message.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated

from fastapi import Depends, Request

from app.api.deps import runtime_of
from app.auth.credentials import authenticate
from app.auth.principal import Principal
from app.auth.tokens import TokenError
from app.errors import Forbidden, Unauthenticated


def current_principal(request: Request) -> Principal:
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
