"""`ops-bridge check`: will the service run here, and if not, why not, in plain words.

Checks, in order: the settings parse, and in production pass the same refusals
`serve` applies; the token keys load; the database answers; its schema is at
this release's migrations; the event log's trigger is in place; and a NOTIFY
reaches a LISTEN connection (what a transaction-mode pooler silently breaks).
Each finding is `ok`, `warn` or `FAIL`; any FAIL makes the exit code 1.
No secret is ever printed: messages are built from names, and anything that
comes from outside (a database error) is scrubbed of every configured secret.
"""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Literal

import psycopg
from psycopg import sql
from pydantic import SecretStr, ValidationError
from sqlalchemy import text
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncConnection

from app.auth.tokens import TokenVerifier
from app.config import Settings, refusals, settings_problems
from app.db.engine import create_engine
from app.db.revision import event_trigger, schema_state
from app.db.urls import libpq_url
from app.logs import redact
from app.ops.database import command_database

Level = Literal["ok", "warn", "FAIL"]

# What one process opens at most: the pool (10) and its overflow (10), the LISTEN
# connection, and the Jira webhook writer's own (app/api/batch_writer.py).
CONNECTIONS_PER_PROCESS = 22
_NOTIFY_WAIT_SECONDS = 3.0
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
    if settings.database_url is None and settings.production:
        report.add("warn", "database", "not checked: DATABASE_URL is not set")
        return report
    with _database_errors(report), command_database(settings) as url:
        asyncio.run(_database(report, url))
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
    if settings.database_url:
        password = make_url(settings.database_url).password
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


@contextlib.contextmanager
def _database_errors(report: Report) -> Iterator[None]:
    try:
        yield
    except Exception as exc:  # noqa: BLE001 - check reports every failure as a finding; it never crashes
        report.add("FAIL", "database", f"could not be used: {_first_line(exc)}")


async def _database(report: Report, url: str) -> None:
    where = make_url(url).render_as_string(hide_password=True)
    engine = create_engine(url, pool_size=1)
    try:
        async with engine.connect() as conn:
            version = (await conn.execute(text("SHOW server_version"))).scalar_one()
            report.add("ok", "database", f"reached {where} (PostgreSQL {version})")
            await _connections(report, conn)
            if await _schema(report, conn):
                await _trigger(report, conn)
    except Exception as exc:  # noqa: BLE001 - every failure becomes a finding, in words
        report.add("FAIL", "database", f"cannot connect to {where}: {_first_line(exc)}")
        return
    finally:
        await engine.dispose()
    await _notify_round_trip(report, url)


async def _connections(report: Report, conn: AsyncConnection) -> None:
    allowed = int((await conn.execute(text("SHOW max_connections"))).scalar_one())
    reserved = int((await conn.execute(text("SHOW superuser_reserved_connections"))).scalar_one())
    processes = (allowed - reserved) // CONNECTIONS_PER_PROCESS
    level: Level = "ok" if processes >= 1 else "FAIL"
    report.add(
        level,
        "database",
        f"max_connections {allowed}: room for {processes} service process(es) at {CONNECTIONS_PER_PROCESS} "
        "connections each (and nothing else using the server)",
    )


async def _schema(report: Report, conn: AsyncConnection) -> bool:
    state = await schema_state(conn)
    report.add("ok" if state.usable else "FAIL", "migrations", state.explain())
    return state.status != "empty"


async def _trigger(report: Report, conn: AsyncConnection) -> None:
    problem = await event_trigger(conn)
    if problem is None:
        report.add("ok", "event log", "the position trigger is in place and enabled")
    else:
        report.add("FAIL", "event log", problem)


async def _notify_round_trip(report: Report, url: str) -> None:
    """LISTEN on one connection, NOTIFY from another: what the service's listener relies on."""
    channel = f"ops_bridge_check_{uuid.uuid4().hex[:12]}"
    try:
        async with (
            await psycopg.AsyncConnection.connect(libpq_url(url), autocommit=True, connect_timeout=5) as listener,
            await psycopg.AsyncConnection.connect(libpq_url(url), autocommit=True, connect_timeout=5) as notifier,
        ):
            await listener.execute(sql.SQL("LISTEN {}").format(sql.Identifier(channel)))
            await notifier.execute(sql.SQL("NOTIFY {}").format(sql.Identifier(channel)))
            arrived = [n async for n in listener.notifies(timeout=_NOTIFY_WAIT_SECONDS, stop_after=1)]
    except psycopg.Error as exc:
        report.add("FAIL", "listen/notify", f"could not be tried: {_first_line(exc)}")
        return
    if arrived:
        report.add("ok", "listen/notify", "a NOTIFY reached a LISTEN connection")
        return
    report.add(
        "FAIL",
        "listen/notify",
        f"a NOTIFY did not arrive within {_NOTIFY_WAIT_SECONDS:g}s: is a pooler in transaction mode "
        "(PgBouncer pool_mode=transaction) in between? The service's LISTEN connection needs a direct "
        "connection or session pooling",
    )


def _first_line(exc: BaseException) -> str:
    lines = str(exc).strip().splitlines()
    return (lines[0] if lines else type(exc).__name__)[:300]


def print_report(report: Report, write: Callable[[str], None]) -> int:
    for finding in report.findings:
        write(finding.line())
    problems = sum(finding.level == "FAIL" for finding in report.findings)
    write(f"{problems} problem(s) found" if problems else "all checks passed")
    return 1 if problems else 0
