"""Finding and checking the caller's token, for HTTP requests and WebSocket handshakes alike.

Carriers, in order: `Authorization: Bearer`, the session cookie, the
WebSocket subprotocol pair `bearer, <token>` (browsers cannot set headers on
a WebSocket), and `?token=` only when ALLOW_QUERY_TOKEN is on. A cookie rides
along with any request a browser makes, so a cookie is honoured only from an
allowed origin: on every WebSocket handshake (cross-site WebSocket hijacking)
and on every HTTP request that changes something (cross-site request forgery).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from starlette.requests import HTTPConnection

from app.auth.principal import Principal
from app.auth.tokens import TokenError, TokenForbidden, TokenVerifier
from app.config import Settings

SUBPROTOCOL = "bearer"
_SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})

Carrier = Literal["header", "cookie", "subprotocol", "query"]


@dataclass(frozen=True, slots=True)
class Credentials:
    principal: Principal
    carrier: Carrier


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


def authenticate(connection: HTTPConnection, verifier: TokenVerifier, settings: Settings) -> Credentials:
    """The caller's principal; raises TokenError (401) or TokenForbidden (403)."""
    found = find_token(connection, settings)
    if found is None:
        raise TokenError(
            "no token: send 'Authorization: Bearer <token>' (or the session cookie; "
            "on a WebSocket, the subprotocols 'bearer, <token>')"
        )
    token, carrier = found
    principal = verifier.verify(token)
    if carrier == "cookie" and _needs_origin_check(connection):
        origin = connection.headers.get("origin")
        if origin is not None and not origin_allowed(origin, connection, settings):
            raise TokenForbidden("origin not allowed for cookie authentication")
    return Credentials(principal, carrier)


def origin_allowed(origin: str, connection: HTTPConnection, settings: Settings) -> bool:
    """Listed in ALLOWED_ORIGINS, or the service's own origin (the console page)."""
    if origin in settings.allowed_origins:
        return True
    host = connection.headers.get("host")
    return host is not None and origin.split("://", 1)[-1] == host


def _needs_origin_check(connection: HTTPConnection) -> bool:
    if connection.scope["type"] == "websocket":
        return True
    return connection.scope.get("method", "GET") not in _SAFE_METHODS
