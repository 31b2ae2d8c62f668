"""Who is connecting: the token, from where a client can put it, and the origin check.

Order: `Authorization: Bearer`, the session cookie, a `Sec-WebSocket-Protocol`
pair `bearer, <token>` (browsers cannot set headers), `?token=` only when
ALLOW_QUERY_TOKEN is on. A cookie rides along with any request a browser makes,
so a cookie-authenticated handshake must come from an allowed origin
(cross-site WebSocket hijacking); the other carriers need the token itself.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from starlette.requests import HTTPConnection

from app.auth.principal import Principal
from app.auth.tokens import TokenError, TokenForbidden, TokenVerifier
from app.config import Settings

SUBPROTOCOL = "bearer"

Carrier = Literal["header", "cookie", "subprotocol", "query"]


@dataclass(frozen=True, slots=True)
class Handshake:
    principal: Principal
    carrier: Carrier
    # The subprotocol to echo when the token came as one: never the token itself.
    subprotocol: str | None


def find_token(connection: HTTPConnection, settings: Settings) -> tuple[str, Carrier] | None:
    authorization = connection.headers.get("authorization", "")
    scheme, _, value = authorization.partition(" ")
    if scheme.lower() == "bearer" and value.strip():
        return value.strip(), "header"
    cookie = connection.cookies.get(settings.session_cookie_name)
    if cookie:
        return cookie, "cookie"
    offered = connection.scope.get("subprotocols") or []
    if SUBPROTOCOL in offered:
        index = offered.index(SUBPROTOCOL)
        if index + 1 < len(offered):
            return offered[index + 1], "subprotocol"
    if settings.allow_query_token:
        token = connection.query_params.get("token")
        if token:
            return token, "query"
    return None


def authenticate(connection: HTTPConnection, verifier: TokenVerifier, settings: Settings) -> Handshake:
    """Raises TokenError (401) or TokenForbidden (403)."""
    found = find_token(connection, settings)
    if found is None:
        raise TokenError(
            "no token: send 'Authorization: Bearer <token>', the session cookie, or the subprotocols 'bearer, <token>'"
        )
    token, carrier = found
    principal = verifier.verify(token)
    if carrier == "cookie":
        origin = connection.headers.get("origin")
        if origin is not None and origin not in settings.allowed_origins:
            raise TokenForbidden("origin not allowed for cookie authentication")
    return Handshake(principal, carrier, SUBPROTOCOL if carrier == "subprotocol" else None)
