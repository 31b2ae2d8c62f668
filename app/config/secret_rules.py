"""The secrets the service refuses to run with: one place for the rules that
`load_settings` applies at start-up (and `ops-bridge check` reports).

In every environment, an HMAC key (JWT_SECRET signs HS256 tokens;
JIRA_WEBHOOK_SECRET and GRAFANA_WEBHOOK_SECRET sign deliveries) must be at
least 32 bytes: RFC 7518 (3.2) asks for a key as long as the hash, and a short
one can be searched offline from a single signed token or delivery.

In production every secret that is set must also be unguessable: zxcvbn's
estimate must reach its top score (10^10 guesses or more, with this service's
own words in its dictionary), which refuses `aaaa...`, a word repeated to
length, keyboard walks and placeholders, and never a random value; the
development JWT secret is refused as well, and so is a guessable password in
DATABASE_URL (compose's old `change-me`). Production also refuses a public
key (or key set) without JWT_AUDIENCE and JWT_ISSUER, since the identity
provider signs tokens for other applications with the same key, and /metrics
open to anyone unless METRICS_PUBLIC says so.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from pydantic import SecretStr
from zxcvbn import zxcvbn

if TYPE_CHECKING:
    from app.config.settings import Settings

HMAC_KEY_MIN_BYTES = 32
TOKEN_MIN_CHARS = 16
# zxcvbn's score 4: "very unguessable", at least 10^10 guesses.
_MIN_SCORE = 4
# zxcvbn refuses longer input (its matching is quadratic); a secret weak in
# its first 72 characters is weak.
_ESTIMATED_CHARS = 72
# Words an operator reaches for when naming a secret of this service.
_SERVICE_WORDS = ("ops", "bridge", "opsbridge", "jira", "grafana", "alert", "webhook", "metrics", "token", "secret")

_HMAC_KEYS = ("jwt_secret", "jira_webhook_secret", "grafana_webhook_secret")
_TOKENS = ("alert_webhook_token", "jira_webhook_token", "metrics_token")
_HOW = "generate one with `openssl rand -hex 32`"


def hmac_key_problems(settings: Settings) -> list[str]:
    """HMAC keys too short to sign with, in any environment."""
    problems = []
    for name in _HMAC_KEYS:
        value: SecretStr | None = getattr(settings, name)
        if value is not None and len(value.get_secret_value().encode()) < HMAC_KEY_MIN_BYTES:
            problems.append(f"{name.upper()} is an HMAC key and must be at least {HMAC_KEY_MIN_BYTES} bytes: {_HOW}")
    return problems


def production_problems(settings: Settings, *, development_secret: str | None) -> list[str]:
    """What production refuses beyond the rules of every environment (`development_secret`:
    the one `make run` keeps under DATA_DIR, if there is one)."""
    problems = _required(settings)
    for name in (*_HMAC_KEYS, *_TOKENS):
        value: SecretStr | None = getattr(settings, name)
        if value is not None and _weak(name, value.get_secret_value(), development_secret):
            problems.append(f"{name.upper()} is a guessable value (a placeholder, a repetition, a word): {_HOW}")
    if (settings.jwt_public_key or settings.jwt_jwks_file) and not (settings.jwt_audience and settings.jwt_issuer):
        problems.append(
            "set JWT_AUDIENCE and JWT_ISSUER with JWT_PUBLIC_KEY or JWT_JWKS_FILE: the identity provider signs "
            "tokens for other applications with the same keys"
        )
    if settings.metrics_token is None and not settings.metrics_public:
        problems.append("set METRICS_TOKEN so /metrics needs it, or METRICS_PUBLIC=true to serve /metrics to anyone")
    problems += _database_problems(settings.database_url, development_secret)
    if settings.allow_query_token:
        problems.append("unset ALLOW_QUERY_TOKEN: tokens in URLs end up in proxy logs")
    return problems


def _required(settings: Settings) -> list[str]:
    problems = []
    if not settings.jwt_configured:
        problems.append("set JWT_SECRET, JWT_PUBLIC_KEY or JWT_JWKS_FILE to verify tokens")
    if settings.jira_webhook_secret is None:
        problems.append("set JIRA_WEBHOOK_SECRET so Jira deliveries are signed")
    if settings.alert_webhook_token is None:
        problems.append("set ALERT_WEBHOOK_TOKEN so monitoring senders authenticate")
    return problems


def _database_problems(url: str | None, development_secret: str | None) -> list[str]:
    if url is None:
        return ["set DATABASE_URL: the embedded PostgreSQL is for development only"]
    from sqlalchemy.engine import make_url  # only in production, with a URL to read

    password = make_url(url).password
    if password is not None and _weak("database_password", str(password), development_secret):
        return [
            "DATABASE_URL's password is a guessable value (a placeholder, a word): give the database user a real one"
        ]
    return []


def _weak(name: str, secret: str, development_secret: str | None) -> bool:
    if name in _TOKENS and len(secret) < TOKEN_MIN_CHARS:
        return True
    if secret == development_secret:
        return True
    estimate = zxcvbn(secret[:_ESTIMATED_CHARS], user_inputs=list(_SERVICE_WORDS))
    return int(estimate["score"]) < _MIN_SCORE
