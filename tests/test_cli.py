"""The `ops-bridge` command: token, migrate, and serve with its own database."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import httpx
import psycopg
import pytest

from app import __version__
from app.auth.tokens import TokenVerifier
from app.config import Settings
from app.db.embedded import EmbeddedPostgres
from tests.conftest import JWT_SECRET, token
from tests.support.clients import open_stream, receive, receive_events
from tests.support.database import cluster_directory
from tests.support.jira import issue_event
from tests.support.server import server_process


def _cli(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "app.cli", *args],
        env={**os.environ, **(env or {})},
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )


def test_token_mints_a_jwt_the_service_accepts_with_the_claims_asked_for() -> None:
    result = _cli(
        "token", "--sub", "ana", "--squads", "ops,pay", "--environments", "*", "--roles", "publisher", "--ttl", "90",
        env={"JWT_SECRET": JWT_SECRET},
    )  # fmt: skip

    assert result.returncode == 0, result.stderr
    principal = TokenVerifier.from_settings(Settings(_env_file=None, jwt_secret=JWT_SECRET)).verify(
        result.stdout.strip()
    )
    assert principal.sub == "ana"
    assert principal.squads == frozenset({"ops", "pay"})
    assert principal.environments is None
    assert principal.roles == frozenset({"publisher"})


def test_token_refuses_an_unknown_role_in_plain_words() -> None:
    result = _cli("token", "--roles", "superuser", env={"JWT_SECRET": JWT_SECRET})

    assert result.returncode == 2
    assert "unknown role(s): superuser" in result.stderr
    assert result.stdout == ""


def test_help_says_what_the_service_is_and_nothing_about_its_internals() -> None:
    result = _cli("--help")
    said = " ".join(result.stdout.split())  # as one line, whatever the terminal's width

    assert result.returncode == 0
    assert "Jira and monitoring webhooks to authenticated WebSocket subscribers" in said
    assert "import" not in said
    assert "worker process" not in said


def test_version_prints_the_release() -> None:
    result = _cli("--version")

    assert result.returncode == 0
    assert result.stdout.strip() == f"ops-bridge {__version__}"


@pytest.mark.parametrize(
    ("option", "value", "says"),
    [
        ("--ttl", "-5", "argument --ttl: a token must live at least a second, not -5"),
        ("--ttl", "0", "argument --ttl: a token must live at least a second, not 0"),
        ("--ttl", "soon", "argument --ttl: a number of seconds, not 'soon'"),
        ("--roles", "", "argument --roles: name at least one role: admin, publisher, viewer"),
        ("--roles", " , ", "argument --roles: name at least one role"),
    ],
)
def test_token_refuses_a_token_that_could_not_be_used_and_says_why(option: str, value: str, says: str) -> None:
    result = _cli("token", option, value, env={"JWT_SECRET": JWT_SECRET})

    assert result.returncode == 2
    assert says in result.stderr
    assert result.stdout == ""


def test_migrate_brings_an_empty_database_to_the_current_schema(postgres: object) -> None:
    from tests.support.database import PgServer

    assert isinstance(postgres, PgServer)
    name = "t_migrate_cli"
    with postgres.admin() as admin:
        admin.execute(f"DROP DATABASE IF EXISTS {name}")
        admin.execute(f"CREATE DATABASE {name}")
    try:
        result = _cli("migrate", env={"DATABASE_URL": postgres.url(name), "JWT_SECRET": JWT_SECRET})
        assert result.returncode == 0, result.stderr
        with psycopg.connect(postgres.url(name)) as conn:
            tables = {row[0] for row in conn.execute("SELECT tablename FROM pg_tables WHERE schemaname = 'public'")}
    finally:
        with postgres.admin() as admin:
            admin.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")

    assert {"incidents", "tasks", "assets", "alerts", "events", "alembic_version"} <= tables


def test_production_refuses_to_start_without_its_secrets_and_says_which() -> None:
    result = _cli("serve", env={"ENVIRONMENT": "production", "DATABASE_URL": "postgresql://x@localhost/x"})

    assert result.returncode == 2
    assert "JWT_SECRET" in result.stderr
    assert "JIRA_WEBHOOK_SECRET" in result.stderr


def test_serve_with_a_role_but_no_broker_refuses_and_says_which_setting() -> None:
    env = {k: v for k, v in os.environ.items() if k != "BROKER_URL"}
    result = _cli("serve", "--role", "edge", env={**env, "DATABASE_URL": "postgresql://x@localhost/x"})
    unknown = _cli("serve", "--role", "router")

    assert result.returncode == 2
    assert "ROLE=edge needs BROKER_URL" in result.stderr
    assert unknown.returncode == 2
    assert "invalid choice: 'router'" in unknown.stderr


@pytest.mark.timeout(240)
async def test_serve_runs_its_own_database_stops_it_on_ctrl_c_and_finds_the_data_again() -> None:
    with cluster_directory("cli") as tmp_path:
        await _serve_twice(tmp_path)


async def _serve_twice(tmp_path: Path) -> None:
    env = {"DATA_DIR": str(tmp_path / "data"), "JWT_SECRET": JWT_SECRET}
    cluster = EmbeddedPostgres(tmp_path / "data" / "postgres")

    with server_process(env, migrate=True, cwd=str(tmp_path)) as first:
        async with httpx.AsyncClient() as http:
            response = await http.post(f"{first.http}/api/webhooks/jira", json=issue_event(1))
        assert response.status_code == 200
        first.process.send_signal(signal.SIGINT)
        assert first.process.wait(60) == 0
    assert not cluster.is_running()

    with server_process(env, migrate=True, cwd=str(tmp_path)) as second:
        async with await open_stream(f"{second.ws}?last_event_id=0", token()) as ws:
            await receive(ws)
            [event] = await receive_events(ws, 1)
        second.process.send_signal(signal.SIGINT)
        assert second.process.wait(60) == 0

    assert event["data"]["jira_id"] == "OPS-1"
    assert not cluster.is_running()
