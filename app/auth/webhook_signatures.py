"""Authenticating webhook senders over the raw body: one module, constant time,
one exception type (`Unauthenticated`, answered with 401).

Secrets and presented values never appear in a message.
"""

from __future__ import annotations

import base64
import hashlib
import hmac

from starlette.requests import Request

from app.errors import Unauthenticated


def same_secret(expected: str, presented: str | None) -> bool:
    """Constant-time comparison of a shared secret (or its absence)."""
    if presented is None:
        return False
    return hmac.compare_digest(expected.encode(), presented.encode())


def hmac_sha256_hex(secret: str, message: bytes) -> str:
    return hmac.new(secret.encode(), message, hashlib.sha256).hexdigest()


def valid_hmac_sha256(secret: str, body: bytes, presented: str | None, *, prefix: str = "") -> bool:
    """`presented` is `prefix` + the hex HMAC-SHA256 of `body` under `secret`."""
    if presented is None or not presented.startswith(prefix):
        return False
    return same_secret(hmac_sha256_hex(secret, body), presented[len(prefix) :].strip().lower())


def bearer_or_basic_password(request: Request) -> str | None:
    """The secret a sender presents in `Authorization`: a bearer token, or the
    password of basic auth (Alertmanager's and Grafana's webhook settings offer both)."""
    scheme, _, value = request.headers.get("authorization", "").partition(" ")
    scheme = scheme.lower()
    if scheme == "bearer":
        return value.strip() or None
    if scheme == "basic":
        try:
            decoded = base64.b64decode(value.strip(), validate=True).decode()
        except (ValueError, UnicodeDecodeError):
            return None
        return decoded.partition(":")[2] or None
    return None


def require(condition: bool, what: str) -> None:
    if not condition:
        raise Unauthenticated(f"{what} missing or not valid")
