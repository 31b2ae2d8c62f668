"""`ops-bridge check`: what is wrong, in plain words, with exit code 1; never a secret."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest
from alembic.script import ScriptDirectory

from app.config import Settings
from app.db.migrate import alembic_config, upgrade
from app.db.revision import code_heads
from app.ops.check import print_report, run_check
from tests.conftest import JWT_SECRET
from tests.support.cli import run_cli
from tests.support.database import PgServer
from tests.support.outages import read_only
from tests.support.pgbouncer import Pooler
from tests.support.redis import redis_server
from tests.support.server import free_port

JIRA_SECRET = "jira-secret-for-the-check-test-0001"
ALERT_TOKEN = "alert-token-for-the-check-test-0002"


def _env(database_url: str, **extra: str) -> dict[str, str]:
    return {"DATABASE_URL": database_url, "JWT_SECRET": JWT_SECRET, **extra}


@pytest.fixture
def empty_database(postgres: PgServer) -> Iterator[str]:
    name = "t_check_empty"
    with postgres.admin() as admin:
        admin.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
        admin.execute(f"CREATE DATABASE {name}")
    try:
        yield postgres.url(name)
    finally:
        with postgres.admin() as admin:
            admin.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")


def test_a_sound_setup_passes_and_says_what_was_checked(database_url: str, tmp_path: Path) -> None:
    env = _env(database_url, JIRA_WEBHOOK_SECRET=JIRA_SECRET, ALERT_WEBHOOK_TOKEN=ALERT_TOKEN)
    result = run_cli("check", env=env, cwd=tmp_path)

    assert result.returncode == 0, result.stdout + result.stderr
    lines = result.stdout.splitlines()
    assert lines[-1] == "all checks passed"
    assert f"ok    migrations: at {code_heads()[0]}, this release's newest migration" in lines
    assert "ok    event log: the position trigger is in place and enabled" in lines
    assert "ok    listen/notify: a NOTIFY reached a LISTEN connection" in lines
    assert any(line.startswith("ok    database: reached postgresql://") for line in lines)
    assert not any(line.startswith("FAIL") for line in lines)


def test_production_without_its_secrets_fails_naming_each_one(database_url: str, tmp_path: Path) -> None:
    result = run_cli("check", env={"ENVIRONMENT": "production", "DATABASE_URL": database_url}, cwd=tmp_path)

    assert result.returncode == 1
    failures = [line for line in result.stdout.splitlines() if line.startswith("FAIL  production:")]
    assert any("JWT_SECRET" in line for line in failures)
    assert any("JIRA_WEBHOOK_SECRET" in line for line in failures)
    assert any("ALERT_WEBHOOK_TOKEN" in line for line in failures)
    assert any("METRICS_TOKEN" in line for line in failures)
    assert "4 problem(s) found" in result.stdout


def test_no_secret_is_printed_even_when_it_is_the_problem(postgres: PgServer, tmp_path: Path) -> None:
    password = "db-password-never-printed"
    unreachable = f"postgresql://ops:{password}@127.0.0.1:{free_port()}/ops"
    env = {
        "ENVIRONMENT": "production",
        "DATABASE_URL": unreachable,
        "JWT_SECRET": "short-and-weak",
        "JIRA_WEBHOOK_SECRET": "changeme",
        "ALERT_WEBHOOK_TOKEN": ALERT_TOKEN,
    }
    result = run_cli("check", env=env, cwd=tmp_path)

    output = result.stdout + result.stderr
    assert result.returncode == 1
    assert "JWT_SECRET is an HMAC key and must be at least 32 bytes" in output
    assert "JIRA_WEBHOOK_SECRET is a guessable value" in output
    assert "FAIL  database: cannot connect to postgresql://ops:***@127.0.0.1" in output
    for secret in (password, "short-and-weak", "changeme", ALERT_TOKEN):
        assert secret not in output


def test_an_invalid_setting_is_named_with_what_it_should_be(tmp_path: Path) -> None:
    result = run_cli("check", env={"PORT": "70000", "WS_PING_INTERVAL": "soon"}, cwd=tmp_path)

    assert result.returncode == 1
    assert "FAIL  configuration: PORT='70000': input should be less than or equal to 65535" in result.stdout
    assert "FAIL  configuration: WS_PING_INTERVAL='soon': input should be a valid number" in result.stdout


def test_an_unmigrated_database_is_told_to_run_migrate(empty_database: str, tmp_path: Path) -> None:
    result = run_cli("check", env=_env(empty_database), cwd=tmp_path)

    assert result.returncode == 1
    assert "FAIL  migrations: no migrations applied: run 'ops-bridge migrate'" in result.stdout


def test_a_database_behind_this_release_says_how_far_and_what_to_run(empty_database: str, tmp_path: Path) -> None:
    head = code_heads()[0]
    previous = ScriptDirectory.from_config(alembic_config(empty_database)).get_revision(head).down_revision
    upgrade(empty_database, str(previous))

    result = run_cli("check", env=_env(empty_database), cwd=tmp_path)

    assert result.returncode == 1
    assert f"FAIL  migrations: at {previous}, 1 migration(s) behind {head}: run 'ops-bridge migrate'" in (result.stdout)


@pytest.mark.parametrize(
    ("change", "says"),
    [
        ("ALTER TABLE events DISABLE TRIGGER events_assign_position", "the trigger events_assign_position is disabled"),
        (
            "DROP TRIGGER events_assign_position ON events",
            "the trigger events_assign_position on table events is missing",
        ),
    ],
)
def test_a_missing_or_disabled_event_trigger_is_a_failure(
    database_url: str, tmp_path: Path, change: str, says: str
) -> None:
    with psycopg.connect(database_url, autocommit=True) as conn:
        conn.execute(change)

    result = run_cli("check", env=_env(database_url), cwd=tmp_path)

    assert result.returncode == 1
    assert f"FAIL  event log: {says}" in result.stdout


def test_development_defaults_pass_with_warnings_about_unauthenticated_webhooks(
    database_url: str, tmp_path: Path
) -> None:
    result = run_cli("check", env={"DATABASE_URL": database_url}, cwd=tmp_path)

    assert result.returncode == 0, result.stdout
    assert (
        "warn  webhooks: JIRA_WEBHOOK_SECRET is not set: those webhooks are accepted unauthenticated" in result.stdout
    )
    assert "warn  tokens: no JWT key set: serve uses a development secret kept under DATA_DIR" in result.stdout
    assert not (tmp_path / "data" / "dev-jwt-secret").exists()  # checking changes nothing


@pytest.mark.parametrize(
    ("url", "says"),
    [
        ("mysql://ops:pw@db/ops", "DATABASE_URL: mysql:// is not a PostgreSQL URL this service can use"),
        ("postgresql+asyncpg://ops:pw@db/ops", "DATABASE_URL: postgresql+asyncpg:// is not a PostgreSQL URL"),
        ("::not a url", "DATABASE_URL: not a URL: write it as postgresql://user:password@host:5432/database"),
    ],
    ids=["mysql", "asyncpg", "unparsable"],
)
def test_a_database_url_the_service_cannot_use_is_a_finding_not_a_crash(url: str, says: str, tmp_path: Path) -> None:
    result = run_cli("check", env={"DATABASE_URL": url}, cwd=tmp_path)

    assert result.returncode == 1
    assert f"FAIL  configuration: {says}" in result.stdout
    assert "Traceback" not in result.stderr
    assert "pw" not in result.stdout


def _check_here(monkeypatch: pytest.MonkeyPatch, tmp_path: Path, env: dict[str, str]) -> tuple[int, str]:
    """`ops-bridge check`'s exit code and output, run in this process with only `env` set (as
    run_cli does, without starting an interpreter: the pooler tests run several)."""
    for name in Settings.model_fields:
        monkeypatch.delenv(name.upper(), raising=False)
    for name, value in {"DATA_DIR": str(tmp_path / "data"), **env}.items():
        monkeypatch.setenv(name, value)
    monkeypatch.chdir(tmp_path)  # no .env of the checkout is read
    lines: list[str] = []
    status = print_report(run_check(), lines.append)
    return status, "\n".join(lines)


def test_behind_a_transaction_pooler_notify_fails_with_the_fix(
    pooler: Pooler, database_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    status, output = _check_here(monkeypatch, tmp_path, _env(pooler.url(database_url)))

    assert status == 1
    [failure] = [line for line in output.splitlines() if line.startswith("FAIL  listen/notify:")]
    assert "did not reach a LISTEN connection on DATABASE_URL" in failure
    assert "Fix: set DATABASE_LISTEN_URL to a direct connection to PostgreSQL" in failure
    assert "ok    migrations:" in output  # everything else works through the pooler


def test_behind_a_transaction_pooler_with_a_direct_listen_url_every_check_passes(
    pooler: Pooler, database_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    env = _env(
        pooler.url(database_url), DATABASE_LISTEN_URL=database_url, DATABASE_POOL_SIZE="5", DATABASE_MAX_OVERFLOW="0"
    )
    status, output = _check_here(monkeypatch, tmp_path, env)

    assert status == 0, output
    assert "ok    listen/notify: a NOTIFY reached a LISTEN connection on DATABASE_LISTEN_URL" in output
    assert "ok    database: accepts writes" in output
    [room] = [line for line in output.splitlines() if "max_connections" in line]
    assert (
        "at 10 connections each (5 pool (DATABASE_POOL_SIZE + DATABASE_MAX_OVERFLOW), 3 webhook writer(s), "
        "1 LISTEN, 1 leader)"
    ) in room


def test_a_read_only_database_is_a_failure_that_says_writes_would_get_503(
    postgres: PgServer, database_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    with read_only(postgres, database_url):
        status, output = _check_here(monkeypatch, tmp_path, _env(database_url))

    assert status == 1
    assert (
        "FAIL  database: transactions are read-only (default_transaction_read_only is on, as on a primary being "
        "failed over): every write would get 503 DATABASE_UNAVAILABLE; point DATABASE_URL at the writable primary"
    ) in output


def test_a_reachable_broker_is_checked_and_its_stream_position_said(
    database_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    with redis_server() as redis:
        status, output = _check_here(monkeypatch, tmp_path, _env(database_url, BROKER_URL=redis.url))

    assert status == 0, output
    assert "ok    broker: BROKER_URL answers; the stream 'ops-bridge:events' is empty" in output


def test_an_unreachable_broker_fails_with_the_fix_and_no_password(
    database_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    url = f"redis://:broker-password-0001@127.0.0.1:{free_port()}/0"

    status, output = _check_here(monkeypatch, tmp_path, _env(database_url, BROKER_URL=url))

    assert status == 1
    [failure] = [line for line in output.splitlines() if line.startswith("FAIL  broker:")]
    assert "start Redis or fix BROKER_URL" in failure
    assert "broker-password-0001" not in output
