"""Settings: read from the environment (and an optional `.env`) by `load_settings()`.

Nothing here runs at import time; the app is built by `create_app(settings)` so
tests pass settings of their own. Every field is documented in the README's
configuration table (a test keeps the two in step).
"""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Annotated, Literal, TypeVar

from pydantic import Field, SecretStr, ValidationError, ValidationInfo, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from app import dev_secret
from app.config.secret_rules import hmac_key_problems, production_problems
from app.contract.payloads import IncidentStatus, Severity, TaskStatus
from app.domain.sla import parse_targets

_log = logging.getLogger(__name__)

CommaList = Annotated[list[str], NoDecode]
Value = TypeVar("Value")
# `NAME=value,NAME=value` (names may hold spaces), or a JSON object for names with `,` or `=`.
PairMap = Annotated[dict[str, Value], NoDecode]

# The checkout this code runs from (a relative DATA_DIR is taken from there), when it runs from one.
_CHECKOUT = Path(__file__).resolve().parents[2]
_POSTGRES_SCHEMES = frozenset({"postgresql", "postgres", "postgresql+psycopg"})
_URL_SHAPE = "postgresql://user:password@host:5432/database"


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

    @field_validator("database_url", mode="before")
    @classmethod
    def _postgres_url(cls, value: object) -> object:
        if isinstance(value, str) and not value.strip():
            return None  # `DATABASE_URL=` as an .env template leaves it: unset
        return check_database_url(value) if isinstance(value, str) else value

    @field_validator("data_dir")
    @classmethod
    def _anchored_data_dir(cls, value: Path) -> Path:
        return resolve_data_dir(value)

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
    ws_handshake_timeout_seconds: float = Field(default=10.0, gt=0)
    # The HTTP edge (app/edge): a request head's size and fields, how long a client may take
    # to send a head (or a pause within a body), and connections open per process.
    http_max_header_bytes: int = Field(default=64 * 1024, ge=1024)
    http_max_headers: int = Field(default=100, ge=10)
    http_header_timeout_seconds: float = Field(default=10.0, gt=0)
    http_body_timeout_seconds: float = Field(default=10.0, gt=0)
    max_connections: int = Field(default=10_000, ge=1)
    webhook_rate_limit_per_second: float = Field(default=200.0, ge=0)
    # Failed webhook authentications per client address a minute (0: no limit); past it, 429.
    webhook_auth_failures_per_minute: int = Field(default=60, ge=0)
    listener_poll_interval: float = Field(default=1.0, gt=0)
    replay_buffer_events: int = Field(default=4096, ge=1)
    replay_max_concurrent_reads: int = Field(default=2, ge=1)
    # Past one PostgreSQL's reads (docs/deployment.md#roles): a relay publishes the log to a
    # Redis Stream, socket edges follow it. Unset: every process reads the log itself.
    role: Literal["all", "ingest", "relay", "edge"] = "all"
    broker_url: SecretStr | None = None
    broker_stream: str = Field(default="ops-bridge:events", min_length=1)
    broker_stream_max_events: int = Field(default=100_000, ge=100)
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

    # `NAME=` (as an .env template leaves it) is unset, never an empty secret:
    # an empty HMAC key is a key anyone can sign with.
    @field_validator(
        "database_url", "broker_url", "jwt_secret", "jwt_public_key", "jwt_jwks_file", "jwt_audience", "jwt_issuer",
        "jira_webhook_secret", "jira_webhook_token", "alert_webhook_token", "grafana_webhook_secret",
        mode="before",
    )  # fmt: skip
    @classmethod
    def _blank_secret_is_unset(cls, value: object) -> object:
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
    # A stale alert unheard of this long (since its last notification) is closed: expired.
    alert_expire_after_seconds: int = Field(default=24 * 3600, ge=60)
    # Alertmanager and Grafana send a whole alert group in one body (max_alerts: 0).
    max_alert_body_bytes: int = Field(default=16 * 1024 * 1024, ge=1024)
    sns_topic_arns: CommaList = Field(default_factory=list)
    # A region's SNS host only (sns.eu-west-1.amazonaws.com, sns.cn-north-1.amazonaws.com.cn): not
    # any name under amazonaws.com, which S3 hands out to anyone (sns.s3.amazonaws.com is a bucket).
    # A failed confirmation is tried again this much later, three times (as SNS retries an error answer).
    sns_confirmation_retry_seconds: float = Field(default=20.0, gt=0)
    sns_subscribe_url_pattern: str = r"^https://sns\.[a-z]{2}(-[a-z]+)+-\d+\.amazonaws\.com(\.cn)?/"
    # Fractions of a day allowed (tests, short-lived labs).
    metric_retention_days: float = Field(default=30, gt=0)
    sla_targets: str = "critical=4h,high=8h,medium=24h,low=72h"
    sla_window_days: int = Field(default=30, ge=1, le=3650)
    sla_publish_interval_seconds: float = Field(default=60.0, gt=0)

    @field_validator("alert_stale_sources", "sns_topic_arns", mode="before")
    @classmethod
    def _split_monitoring_lists(cls, value: object) -> object:
        if isinstance(value, str):
            return [item.strip() for item in value.split(",") if item.strip()]
        return value

    @field_validator("alert_expire_after_seconds")
    @classmethod
    def _expire_after_stale(cls, value: int, info: ValidationInfo) -> int:
        stale = info.data.get("alert_stale_after_seconds")
        if stale is not None and value <= stale:
            raise ValueError(f"must be longer than ALERT_STALE_AFTER_SECONDS ({stale}): only stale alerts expire")
        return value

    @field_validator("sla_targets")
    @classmethod
    def _valid_sla_targets(cls, value: str) -> str:
        parse_targets(value)
        return value

    # Operations (docs/deployment.md): the raw delivery log's retention, log
    # lines, and who may scrape /metrics.
    delivery_retention_days: float = Field(default=30, gt=0)
    # How often the leader checks for rows past their retention (events, deliveries, metric
    # samples); it then deletes in batches until caught up.
    retention_interval_seconds: float = Field(default=60.0, gt=0)
    # None: json in production, text in development.
    log_format: Literal["json", "text"] | None = None
    metrics_token: SecretStr | None = None
    # Production refuses to serve /metrics to anyone without METRICS_TOKEN unless this says so.
    metrics_public: bool = False

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


def check_database_url(value: str) -> str:
    """`value` if it is a PostgreSQL URL the service can connect with; else ValueError saying how to write one."""
    from sqlalchemy.engine import make_url  # only when DATABASE_URL is set
    from sqlalchemy.exc import ArgumentError

    try:
        scheme = make_url(value).drivername
    except ArgumentError:
        raise ValueError(f"not a URL: write it as {_URL_SHAPE}") from None
    if scheme not in _POSTGRES_SCHEMES:
        raise ValueError(f"{scheme}:// is not a PostgreSQL URL this service can use: write it as {_URL_SHAPE}")
    return value


def resolve_data_dir(value: Path) -> Path:
    """DATA_DIR as an absolute path, the same for every command from any working directory:
    a relative one is taken from the checkout the code runs from, or, for an installed
    package (a container image), from the working directory."""
    value = value.expanduser()
    if value.is_absolute():
        return value
    base = _CHECKOUT if (_CHECKOUT / "pyproject.toml").is_file() else Path.cwd()
    return base / value


def settings_problems(error: ValidationError) -> list[str]:
    """Each setting a ValidationError names: what is wrong, and its value when it is no secret."""
    problems = []
    for item in error.errors():
        name = ".".join(str(part) for part in item["loc"]).upper() or "settings"
        message = item["msg"].removeprefix("Value error, ")
        if message[1:2].islower():
            message = message[:1].lower() + message[1:]
        shown = "" if _secretive(name) or not isinstance(item.get("input"), str) else f"={item['input'][:60]!r}"
        problems.append(f"{name}{shown}: {message}")
    return problems


def settings_problem(error: ValidationError) -> str:
    """A settings error in one plain line, with where to fix it."""
    where = "set it in the environment or .env; the README's Configuration table lists each"
    return "; ".join(settings_problems(error)) + f" ({where})"


def _secretive(name: str) -> bool:
    field = Settings.model_fields.get(name.lower())
    return name == "DATABASE_URL" or field is None or "SecretStr" in str(field.annotation)


def load_settings(**overrides: object) -> Settings:
    """Settings from the environment, checked, with development fallbacks filled in."""
    try:
        settings = Settings(**overrides)  # type: ignore[arg-type]
    except ValidationError as exc:
        raise ConfigError(settings_problem(exc)) from None
    _refuse_unsafe(settings)
    if settings.production:
        return settings
    if not settings.jwt_configured:
        secret = development_jwt_secret(settings.data_dir)
        _log.warning(
            "JWT_SECRET is not set: using a development secret kept in %s (DATA_DIR). "
            "Never run like this in production (ENVIRONMENT=production refuses to).",
            dev_secret.path_in(settings.data_dir),
        )
        settings = settings.model_copy(update={"jwt_secret": SecretStr(secret)})
    for name in ("jira_webhook_secret", "alert_webhook_token"):
        if getattr(settings, name) is None:
            _log.warning("%s is not set: webhooks are accepted unauthenticated.", name.upper())
    return settings


def development_jwt_secret(data_dir: Path) -> str:
    """A random secret made once per DATA_DIR, so `serve` and `token` agree (app/dev_secret.py)."""
    try:
        return dev_secret.read_or_create(data_dir)
    except OSError as exc:
        raise ConfigError(
            f"DATA_DIR={data_dir}: cannot keep the development JWT secret there ({exc.strerror}); "
            "point DATA_DIR at a directory this user can write, or set JWT_SECRET"
        ) from None


def refusals(settings: Settings) -> list[str]:
    """Why the service must not start with `settings` (app/config/secret_rules.py), in plain words;
    reads, never writes (`ops-bridge check` asks too)."""
    problems = hmac_key_problems(settings)
    if settings.production:
        problems += production_problems(settings, development_secret=dev_secret.read(settings.data_dir))
    return problems


def _refuse_unsafe(settings: Settings) -> None:
    if settings.role != "all" and settings.broker_url is None:
        raise ConfigError(
            f"ROLE={settings.role} needs BROKER_URL (redis://host:6379/0): the roles meet in the broker; "
            "unset ROLE (all) to run every part in one process without one"
        )
    problems = refusals(settings)
    if problems:
        where = "in production" if settings.production else "with these settings"
        raise ConfigError(f"refusing to start {where}: " + "; ".join(problems))
