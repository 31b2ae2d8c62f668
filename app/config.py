"""Settings: read from the environment (and an optional `.env`) by `load_settings()`.

Nothing here runs at import time; the app is built by `create_app(settings)` so
tests pass settings of their own. Every field is documented in the README's
configuration table (a test keeps the two in step).
"""

from __future__ import annotations

import json
import logging
import secrets
from pathlib import Path
from typing import Annotated, Literal, TypeVar

from pydantic import Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from app.contract.payloads import IncidentStatus, Severity, TaskStatus
from app.domain.sla import parse_targets

_log = logging.getLogger(__name__)

CommaList = Annotated[list[str], NoDecode]
Value = TypeVar("Value")
# `NAME=value,NAME=value` (names may hold spaces), or a JSON object for names with `,` or `=`.
PairMap = Annotated[dict[str, Value], NoDecode]

_DEV_SECRET_FILE = "dev-jwt-secret"  # noqa: S105 - a file name, not a secret


class ConfigError(RuntimeError):
    """The configuration cannot run the service; the message says why in plain words."""


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_file=".env", extra="ignore", frozen=True)

    environment: Literal["development", "production"] = "development"
    database_url: str | None = None
    # The database side of a process (docs/deployment.md#connections): everything but
    # LISTEN may go through a transaction pooler; LISTEN needs a session of its own.
    database_listen_url: str | None = None
    database_pool_size: int = Field(default=10, ge=1)
    database_max_overflow: int = Field(default=10, ge=0)
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
    ws_socket_send_buffer_bytes: int = Field(default=0, ge=0)
    ws_max_message_bytes: int = Field(default=64 * 1024, ge=1024)
    ws_rate_limit_per_minute: int = Field(default=100, ge=1)
    ws_max_connections_per_user: int = Field(default=20, ge=1)
    webhook_rate_limit_per_second: float = Field(default=200.0, ge=0)
    listener_poll_interval: float = Field(default=1.0, gt=0)
    replay_buffer_events: int = Field(default=4096, ge=1)
    event_retention_hours: float = Field(default=168.0, gt=0)
    max_webhook_body_bytes: int = Field(default=1024 * 1024, ge=1024)
    log_level: str = "INFO"

    # Jira (docs/jira.md): the token alternative to signatures, and the mapping.
    jira_webhook_token: SecretStr | None = None
    jira_priority_map: PairMap[Severity] = Field(default_factory=dict)
    jira_incident_status_map: PairMap[IncidentStatus] = Field(default_factory=dict)
    jira_task_status_map: PairMap[TaskStatus] = Field(default_factory=dict)
    jira_squad_field: str | None = None
    jira_squad_from_component: bool = False
    jira_squad_label_prefix: str | None = None
    jira_squad_project_map: PairMap[str] = Field(default_factory=dict)

    @field_validator(
        "jira_priority_map", "jira_incident_status_map", "jira_task_status_map", "jira_squad_project_map", mode="before"
    )
    @classmethod
    def _split_pairs(cls, value: object) -> object:
        return split_pairs(value)

    @field_validator("jira_squad_field", "jira_squad_label_prefix", mode="before")
    @classmethod
    def _blank_is_unset(cls, value: object) -> object:
        return None if isinstance(value, str) and not value.strip() else value

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

    # Monitoring alerts and metrics (docs/monitoring.md).
    grafana_webhook_secret: SecretStr | None = None
    grafana_signature_header: str = "X-Grafana-Alerting-Signature"
    grafana_timestamp_header: str = "X-Grafana-Alerting-Timestamp"
    grafana_timestamp_tolerance_seconds: int = Field(default=300, ge=1, le=3600)
    grafana_require_timestamp: bool = False
    alert_default_environment: str = "production"
    alert_stale_after_seconds: int = Field(default=5 * 3600, ge=60)
    alert_stale_sources: CommaList = Field(default_factory=lambda: ["alertmanager", "grafana", "generic"])
    sns_topic_arns: CommaList = Field(default_factory=list)
    sns_subscribe_url_pattern: str = r"^https://sns\.[a-z0-9-]+\.amazonaws\.com(\.cn)?/"
    metric_retention_days: int = Field(default=30, ge=1)
    sla_targets: str = "critical=4h,high=8h,medium=24h,low=72h"
    sla_window_days: int = Field(default=30, ge=1, le=3650)
    sla_publish_interval_seconds: float = Field(default=60.0, gt=0)

    @field_validator("alert_stale_sources", "sns_topic_arns", mode="before")
    @classmethod
    def _split_monitoring_lists(cls, value: object) -> object:
        if isinstance(value, str):
            return [item.strip() for item in value.split(",") if item.strip()]
        return value

    @field_validator("sla_targets")
    @classmethod
    def _valid_sla_targets(cls, value: str) -> str:
        parse_targets(value)
        return value

    # Operations (docs/deployment.md): the raw delivery log's retention, log
    # lines, and who may scrape /metrics.
    delivery_retention_days: int = Field(default=30, ge=1)
    # None: json in production, text in development.
    log_format: Literal["json", "text"] | None = None
    metrics_token: SecretStr | None = None

    @field_validator("log_format", "metrics_token", mode="before")
    @classmethod
    def _blank_is_default(cls, value: object) -> object:
        return None if isinstance(value, str) and not value.strip() else value

    @property
    def json_logs(self) -> bool:
        return self.log_format == "json" or (self.log_format is None and self.production)


def split_pairs(value: object) -> object:
    """`"P1=critical, Sev 2 = high"` as {"P1": "critical", "Sev 2": "high"}; other values as given."""
    if not isinstance(value, str):
        return value
    if value.strip().startswith("{"):
        return json.loads(value)
    pairs: dict[str, str] = {}
    for item in filter(None, (part.strip() for part in value.split(","))):
        name, sep, mapped = item.partition("=")
        if not sep or not name.strip() or not mapped.strip():
            raise ValueError(f"expected NAME=VALUE pairs separated by commas, got {item[:60]!r}")
        pairs[name.strip()] = mapped.strip()
    return pairs


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


# Values that show up in examples and quick starts: never secrets.
_PLACEHOLDERS = frozenset({"secret", "changeme", "change-me", "password", "dev", "development", "test", "example"})


def _weak(value: SecretStr, minimum: int, data_dir: Path) -> bool:
    secret = value.get_secret_value()
    dev_file = data_dir / _DEV_SECRET_FILE
    is_dev_secret = dev_file.exists() and dev_file.read_text().strip() == secret
    return len(secret) < minimum or secret.strip().lower() in _PLACEHOLDERS or is_dev_secret


def _refuse_unsafe_production(settings: Settings) -> None:
    problems = []
    if not settings.jwt_configured:
        problems.append("set JWT_SECRET, JWT_PUBLIC_KEY or JWT_JWKS_FILE to verify tokens")
    if settings.jwt_secret is not None and _weak(settings.jwt_secret, 32, settings.data_dir):
        problems.append("JWT_SECRET must be a real secret of at least 32 characters, not a development one")
    if settings.jira_webhook_secret is None:
        problems.append("set JIRA_WEBHOOK_SECRET so Jira deliveries are signed")
    elif _weak(settings.jira_webhook_secret, 16, settings.data_dir):
        problems.append("JIRA_WEBHOOK_SECRET must be at least 16 characters and not a placeholder")
    if settings.alert_webhook_token is None:
        problems.append("set ALERT_WEBHOOK_TOKEN so monitoring senders authenticate")
    elif _weak(settings.alert_webhook_token, 16, settings.data_dir):
        problems.append("ALERT_WEBHOOK_TOKEN must be at least 16 characters and not a placeholder")
    if settings.database_url is None:
        problems.append("set DATABASE_URL: the embedded PostgreSQL is for development only")
    if settings.allow_query_token:
        problems.append("unset ALLOW_QUERY_TOKEN: tokens in URLs end up in proxy logs")
    if problems:
        raise ConfigError("refusing to start in production: " + "; ".join(problems))
