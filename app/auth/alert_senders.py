"""Authenticating monitoring senders: the shared ALERT_WEBHOOK_TOKEN, and
Grafana's HMAC signature.

Token: a bearer token or the password of basic auth, as Alertmanager's
`http_config`, Grafana's contact point, Uptime Kuma's additional headers and
SNS's `https://user:token@host/...` subscription URL can each send. Unset in
development: accepted (the configuration warns loudly at start-up);
production refuses to start without it.

Grafana signature (GRAFANA_WEBHOOK_SECRET): hex HMAC-SHA256 in
`X-Grafana-Alerting-Signature`. When the contact point names a timestamp
header, Grafana signs `timestamp + ":" + body` and sends the Unix time in that
header: the time must then be within the tolerance, so a captured request
cannot be replayed later.
"""

from __future__ import annotations

import time

from starlette.requests import Request

from app.auth.webhook_signatures import bearer_or_basic_password, hmac_sha256_hex, require, same_secret
from app.config import Settings
from app.errors import Unauthenticated

TOKEN_WHAT = "ALERT_WEBHOOK_TOKEN (bearer token or basic-auth password)"  # noqa: S105 - a description


def require_alert_token(request: Request, settings: Settings) -> None:
    if settings.alert_webhook_token is None:
        return
    presented = bearer_or_basic_password(request)
    require(same_secret(settings.alert_webhook_token.get_secret_value(), presented), TOKEN_WHAT)


def authenticate_grafana(request: Request, body: bytes, settings: Settings) -> None:
    """A valid signature where Grafana signs; else the token (legacy alerting cannot sign)."""
    secret = settings.grafana_webhook_secret
    signature = request.headers.get(settings.grafana_signature_header)
    if secret is not None and signature is not None:
        verify_grafana_signature(
            secret.get_secret_value(),
            body,
            signature,
            request.headers.get(settings.grafana_timestamp_header),
            now=time.time(),
            tolerance=settings.grafana_timestamp_tolerance_seconds,
            require_timestamp=settings.grafana_require_timestamp,
        )
        return
    if secret is not None and settings.alert_webhook_token is None:
        raise Unauthenticated(f"Grafana signature ({settings.grafana_signature_header}) missing or not valid")
    require_alert_token(request, settings)


def verify_grafana_signature(
    secret: str,
    body: bytes,
    signature: str,
    timestamp: str | None,
    *,
    now: float,
    tolerance: float,
    require_timestamp: bool,
) -> None:
    if timestamp is None:
        if require_timestamp:
            raise Unauthenticated("Grafana signature timestamp header missing (GRAFANA_REQUIRE_TIMESTAMP is on)")
        signed = body
    else:
        stamp = timestamp.strip()
        if not stamp.isdigit():
            raise Unauthenticated("Grafana signature timestamp is not a Unix time")
        if abs(now - int(stamp)) > tolerance:
            raise Unauthenticated("Grafana signature timestamp is outside the accepted window (a replay?)")
        signed = stamp.encode() + b":" + body
    if not same_secret(hmac_sha256_hex(secret, signed), signature.strip().lower()):
        raise Unauthenticated("Grafana signature missing or not valid")
