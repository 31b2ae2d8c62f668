"""Who is connecting to /api/ws (see app.auth.credentials for the carriers)."""

from __future__ import annotations

from dataclasses import dataclass

from starlette.requests import HTTPConnection

from app.auth.credentials import SUBPROTOCOL, Carrier, authenticate
from app.auth.principal import Principal
from app.auth.tokens import TokenVerifier
from app.config import Settings


@dataclass(frozen=True, slots=True)
class Handshake:
    principal: Principal
    # `bearer` when the client offered it, however the token came (a browser drops a
    # handshake that selects none of the subprotocols it offered); never the token itself.
    subprotocol: str | None
    # How the token came (header, cookie, subprotocol, query): for the connection's log line.
    carrier: Carrier = "header"


def accept_credentials(connection: HTTPConnection, verifier: TokenVerifier, settings: Settings) -> Handshake:
    """Raises TokenError (401) or TokenForbidden (403)."""
    credentials = authenticate(connection, verifier, settings)
    subprotocol = SUBPROTOCOL if SUBPROTOCOL in (connection.scope.get("subprotocols") or []) else None
    return Handshake(credentials.principal, subprotocol, credentials.carrier)
