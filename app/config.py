"""Settings: read from the environment (and an optional `.env`) by `load_settings()`.

Nothing here runs at import time; the app is built by `create_app(settings)` so
tests pass settings of their own. Every field is documented in the README's
configuration table (a test keeps the two in step).
"""

from __future__ import annotations

import logging
import secrets
from pathlib import Path
from typing import Annotated, Literal

from pydantic import Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

_log = logging.getLogger(__name__)

CommaList = Annotated[list[str], NoDecode]

_DEV_SECRET_FILE = "dev-jwt-secret"  # noqa: S105 - a file name, not a secret


class ConfigError(RuntimeError):
    """The configuration cannot run the service; the message says why in plain words."""


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_file=".env", extra="ignore", frozen=True)

    environment: Literal["development", "production"] = "development"
    database_url: str | None = None
    data_dir: Path = Path(".data")
    host: str = "127.0.0.1"
    port: int = Field(default=8000, ge=1, le=65535)
    migrate_on_start: bool = True

    jwt_secret: SecretStr | None = None
    jwt_public_key: str | None = None
    jwt_jwks_file: Path | None = None
    jwt_audience: str | None = None
    jwt_issuer: str | None = None
    jwt_leeway_seconds: int = Field(default=30, ge=0, le=300)
    jira_webhook_secret: SecretStr | None = None
    alert_webhook_token: SecretStr | None = None
    allowed_origins: CommaList = Field(default_factory=list)
    session_cookie_name: str = "ops_bridge_session"
    allow_query_token: bool = False

    incident_issue_types: CommaList = Field(default_factory=lambda: ["Incident"])

    ws_ping_interval: float = Field(default=30.0, gt=0)
    ws_ping_timeout: float = Field(default=30.0, gt=0)
    ws_max_buffered_bytes: int = Field(default=1024 * 1024, ge=16 * 1024)
    ws_max_message_bytes: int = Field(default=64 * 1024, ge=1024)
    ws_rate_limit_per_minute: int = Field(default=100, ge=1)
    listener_poll_interval: float = Field(default=1.0, gt=0)
    replay_buffer_events: int = Field(default=4096, ge=1)
    max_webhook_body_bytes: int = Field(default=1024 * 1024, ge=1024)
    log_level: str = "INFO"

    # REST API (assets, notifications, reads): JSON bodies larger than this get 413
    # before they are read whole; an inventory snapshot of 10,000 assets is about 1 MB.
    max_api_body_bytes: int = Field(default=4 * 1024 * 1024, ge=1024)

    @field_validator("allowed_origins", "incident_issue_types", mode="before")
    @classmethod
    def _split_commas(cls, value: object) -> object:
        if isinstance(value, str):
            return [item.strip() for item in value.split(",") if item.strip()]
        return value

    @property
    def production(self) -> bool:
        return self.environment == "production"

    @property
    def jwt_configured(self) -> bool:
        return any((self.jwt_secret, self.jwt_public_key, self.jwt_jwks_file))


def load_settings(**overrides: object) -> Settings:
    """Settings from the environment, checked, with development fallbacks filled in."""
    settings = Settings(**overrides)  # type: ignore[arg-type]
    if settings.production:
        _refuse_unsafe_production(settings)
        return settings
    if not settings.jwt_configured:
        secret = development_jwt_secret(settings.data_dir)
        _log.warning(
            "JWT_SECRET is not set: using a development secret kept in %s. "
            "Never run like this in production (ENVIRONMENT=production refuses to).",
            settings.data_dir / _DEV_SECRET_FILE,
        )
        settings = settings.model_copy(update={"jwt_secret": SecretStr(secret)})
    for name in ("jira_webhook_secret", "alert_webhook_token"):
        if getattr(settings, name) is None:
            _log.warning("%s is not set: webhooks are accepted unauthenticated.", name.upper())
    return settings


def development_jwt_secret(data_dir: Path) -> str:
    """A random secret made once per checkout, so `serve` and `token` agree."""
    path = data_dir / _DEV_SECRET_FILE
    if path.exists():
        return path.read_text().strip()
    data_dir.mkdir(parents=True, exist_ok=True)
    secret = secrets.token_urlsafe(48)
    path.write_text(secret + "\n")
    path.chmod(0o600)
    return secret


def _refuse_unsafe_production(settings: Settings) -> None:
    problems = []
    if not settings.jwt_configured:
        problems.append("set JWT_SECRET, JWT_PUBLIC_KEY or JWT_JWKS_FILE to verify tokens")
    if settings.jwt_secret is not None and len(settings.jwt_secret.get_secret_value()) < 32:
        problems.append("JWT_SECRET must be at least 32 characters")
    if settings.jira_webhook_secret is None:
        problems.append("set JIRA_WEBHOOK_SECRET so Jira deliveries are signed")
    if settings.alert_webhook_token is None:
        problems.append("set ALERT_WEBHOOK_TOKEN so monitoring senders authenticate")
    if settings.database_url is None:
        problems.append("set DATABASE_URL: the embedded PostgreSQL is for development only")
    if settings.allow_query_token:
        problems.append("unset ALLOW_QUERY_TOKEN: tokens in URLs end up in proxy logs")
    if problems:
        raise ConfigError("refusing to start in production: " + "; ".join(problems))
