"""`ops-bridge check`: will the service run here, and if not, why not, in plain words.

Checks, in order: the settings parse, and in production pass the same refusals
`serve` applies; the token keys load; then the database (app/ops/database_check.py):
it answers, has room for the service's connections, accepts writes, its schema is
at this release's migrations, the event log's trigger is in place, and a NOTIFY
reaches the LISTEN connection (what a transaction-mode pooler silently breaks).
Each finding is `ok`, `warn` or `FAIL`; any FAIL makes the exit code 1.
No secret is ever printed: messages are built from names, and anything that
comes from outside (a database error) is scrubbed of every configured secret.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

from pydantic import SecretStr, ValidationError
from redis.exceptions import RedisError
from sqlalchemy.engine import make_url

from app.auth.tokens import TokenVerifier
from app.broker import stream
from app.config import Settings, refusals, settings_problems
from app.logs import redact
from app.ops.database import command_database
from app.ops.database_check import Level, check_database

# Shorter secret values are not searched for in messages: "p" would blank out every letter p.
# (Production refuses secrets that short; a URL's password is never rendered.)
_MIN_REDACTED = 4


@dataclass(frozen=True, slots=True)
class Finding:
    level: Level
    topic: str
    text: str

    def line(self) -> str:
        return f"{self.level:<5} {self.topic}: {self.text}"


@dataclass(slots=True)
class Report:
    findings: list[Finding] = field(default_factory=list)
    secrets: list[str] = field(default_factory=list)

    def add(self, level: Level, topic: str, message: str) -> None:
        for secret in self.secrets:
            if len(secret) >= _MIN_REDACTED:
                message = message.replace(secret, "[redacted]")
        self.findings.append(Finding(level, topic, redact(message)))

    @property
    def failed(self) -> bool:
        return any(finding.level == "FAIL" for finding in self.findings)


def run_check() -> Report:
    """Check the settings from the environment (and `.env`), as `serve` would read them."""
    report = Report()
    settings = _settings(report)
    if settings is None:
        return report
    report.secrets = _secret_values(settings)
    _configuration(report, settings)
    if settings.broker_url is not None:
        asyncio.run(_broker(report, settings.broker_url.get_secret_value(), settings.broker_stream))
    if settings.database_url is None and settings.production:
        report.add("warn", "database", "not checked: DATABASE_URL is not set")
        return report
    with _database_errors(report), command_database(settings) as url:
        asyncio.run(check_database(report.add, settings, url))
    return report


def _settings(report: Report) -> Settings | None:
    try:
        settings = Settings()
    except ValidationError as exc:
        for problem in settings_problems(exc):
            report.add("FAIL", "configuration", problem)
        return None
    report.add("ok", "configuration", f"settings parse (ENVIRONMENT={settings.environment})")
    return settings


def _secret_values(settings: Settings) -> list[str]:
    secrets = [value.get_secret_value() for _name, value in settings if isinstance(value, SecretStr)]
    for url in (settings.database_url, settings.database_listen_url):
        password = make_url(url).password if url else None
        if password:
            secrets.append(str(password))
    return [secret for secret in secrets if secret]


def _configuration(report: Report, settings: Settings) -> None:
    problems = refusals(settings)  # what `serve` refuses to start with, from the same environment
    for problem in problems:
        report.add("FAIL", "production" if settings.production else "secrets", problem)
    if settings.production and not problems:
        report.add("ok", "production", "every secret production requires is set and not a placeholder")
    if not settings.production:
        _development_warnings(report, settings)
    _token_keys(report, settings)
    if settings.metrics_token is None:
        level: Level = "warn" if settings.production else "ok"
        report.add(level, "metrics", "METRICS_TOKEN is not set: anyone who reaches the port can read /metrics")


def _development_warnings(report: Report, settings: Settings) -> None:
    if not settings.jwt_configured:
        report.add("warn", "tokens", "no JWT key set: serve uses a development secret kept under DATA_DIR")
    for name in ("jira_webhook_secret", "alert_webhook_token"):
        if getattr(settings, name) is None:
            report.add("warn", "webhooks", f"{name.upper()} is not set: those webhooks are accepted unauthenticated")


def _token_keys(report: Report, settings: Settings) -> None:
    if not settings.jwt_configured:
        return
    try:
        TokenVerifier.from_settings(settings)
    except (ValueError, OSError) as exc:
        report.add("FAIL", "tokens", f"the JWT key settings cannot be used: {exc}")
        return
    kinds = [
        label
        for label, present in (
            ("JWT_SECRET (HS256)", settings.jwt_secret),
            ("JWT_PUBLIC_KEY", settings.jwt_public_key),
            ("JWT_JWKS_FILE", settings.jwt_jwks_file),
        )
        if present
    ]
    report.add("ok", "tokens", "verifying with " + ", ".join(kinds))


async def _broker(report: Report, url: str, name: str) -> None:
    """BROKER_URL reachable, and where its stream stands (the relay fills it; edges follow it)."""
    client = stream.connect(url)
    try:
        await client.ping()
        newest = await stream.last_position(client, name)
    except (RedisError, OSError) as exc:
        report.add(
            "FAIL", "broker", f"BROKER_URL cannot be reached ({_first_line(exc)}): start Redis or fix BROKER_URL"
        )
        return
    finally:
        await client.aclose()
    where = "empty: no relay has published yet" if newest is None else f"at position {newest}"
    report.add("ok", "broker", f"BROKER_URL answers; the stream {name!r} is {where}")


@contextlib.contextmanager
def _database_errors(report: Report) -> Iterator[None]:
    try:
        yield
    except Exception as exc:  # noqa: BLE001 - check reports every failure as a finding; it never crashes
        report.add("FAIL", "database", f"could not be used: {_first_line(exc)}")


def _first_line(exc: BaseException) -> str:
    lines = str(exc).strip().splitlines()
    return (lines[0] if lines else type(exc).__name__)[:300]


def print_report(report: Report, write: Callable[[str], None]) -> int:
    for finding in report.findings:
        write(finding.line())
    problems = sum(finding.level == "FAIL" for finding in report.findings)
    write(f"{problems} problem(s) found" if problems else "all checks passed")
    return 1 if problems else 0
