"""Finding and checking the caller's token, for HTTP requests and WebSocket handshakes alike.

Carriers, in order: `Authorization: Bearer`, the WebSocket subprotocol pair
`bearer, <token>` (browsers cannot set headers on a WebSocket), the session
cookie, and `?token=` only when ALLOW_QUERY_TOKEN is on. A token the client
chose to send outranks the cookie its browser sends along unasked: a dashboard
that offers its own token gets the `bearer` subprotocol it asked for (a
browser drops a handshake that selects none) even when a console session is
open on the same origin.

A cookie rides along with any request a browser makes, so a cookie is
honoured only from an allowed origin (scheme, host and port): on every
WebSocket handshake (cross-site WebSocket hijacking) and on every HTTP request
that changes something (cross-site request forgery). Over https the cookie is
`__Host-` prefixed: a browser accepts such a cookie only from this very origin,
Secure, with Path=/, so a neighbouring subdomain cannot plant one.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal
from urllib.parse import urlsplit

from starlette.requests import HTTPConnection

from app.auth.principal import Principal
from app.auth.tokens import TokenError, TokenForbidden, TokenVerifier
from app.config import Settings

SUBPROTOCOL = "bearer"
_HOST_PREFIX = "__Host-"
_DEFAULT_PORTS = {"http": 80, "https": 443}
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
    offered = connection.scope.get("subprotocols") or []
    if SUBPROTOCOL in offered:
        index = offered.index(SUBPROTOCOL)
        if index + 1 < len(offered):
            return offered[index + 1], "subprotocol"
    cookie = connection.cookies.get(session_cookie_name(connection, settings))
    if cookie:
        return cookie, "cookie"
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


def session_cookie_name(connection: HTTPConnection, settings: Settings) -> str:
    """SESSION_COOKIE_NAME, `__Host-` prefixed when the request came over https (or wss)."""
    name = settings.session_cookie_name
    if is_secure(connection) and not name.startswith(_HOST_PREFIX):
        return _HOST_PREFIX + name
    return name


def is_secure(connection: HTTPConnection) -> bool:
    """Came over TLS: directly, or through a proxy uvicorn trusts (X-Forwarded-Proto)."""
    return connection.url.scheme in ("https", "wss")


def origin_allowed(origin: str, connection: HTTPConnection, settings: Settings) -> bool:
    """Listed in ALLOWED_ORIGINS, or the service's own origin (the console page): the
    same scheme, host and port, since http://host is another origin than https://host."""
    if origin in settings.allowed_origins:
        return True
    host = connection.headers.get("host")
    if host is None:
        return False
    own = _origin_key(f"{'https' if is_secure(connection) else 'http'}://{host}")
    return own is not None and _origin_key(origin) == own


def _origin_key(origin: str) -> tuple[str, str, int | None] | None:
    """(scheme, host, port) with the scheme's default port made explicit; None if not an origin."""
    try:
        parts = urlsplit(origin.strip())
        port = parts.port
    except ValueError:
        return None
    if parts.scheme not in _DEFAULT_PORTS or not parts.hostname:
        return None
    return parts.scheme, parts.hostname, port or _DEFAULT_PORTS[parts.scheme]


def _needs_origin_check(connection: HTTPConnection) -> bool:
    if connection.scope["type"] == "websocket":
        return True
    return connection.scope.get("method", "GET") not in _SAFE_METHODS
