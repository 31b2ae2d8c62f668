"""A configuration or database problem is one plain line naming the setting and the fix, exit code 2:
the real command, in its own process, as an operator runs it."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy.engine import make_url

from app.config import ConfigError
from app.db.engine import create_engine
from app.ingest.transaction import write
from app.ops.problems import plain_problems
from tests.conftest import JWT_SECRET, make_settings
from tests.support.cli import run_cli
from tests.support.database import PgServer
from tests.support.server import free_port

# Every secret set, so no start-up warning shares stderr with the line under test.
_QUIET = {"JWT_SECRET": JWT_SECRET, "JIRA_WEBHOOK_SECRET": "j" * 32, "ALERT_WEBHOOK_TOKEN": "a" * 32}


def _one_line(stderr: str) -> str:
    lines = stderr.strip().splitlines()
    assert "Traceback" not in stderr
    assert len(lines) == 1, stderr
    assert lines[0].startswith("ops-bridge: ")
    return lines[0]


def _unreachable() -> str:
    return f"postgresql://ops:hunter2-secret@127.0.0.1:{free_port()}/ops"


@pytest.mark.parametrize(
    ("env", "says"),
    [
        ({"DATABASE_URL": "mysql://ops:pw@db/ops"}, "DATABASE_URL: mysql:// is not a PostgreSQL URL"),
        ({"DATABASE_URL": "postgresql+asyncpg://ops:pw@db/ops"}, "DATABASE_URL: postgresql+asyncpg:// is not"),
        ({"DATABASE_URL": "::not a url"}, "DATABASE_URL: not a URL: write it as postgresql://"),
        ({"PORT": "abc"}, "PORT='abc': input should be a valid integer"),
        ({"SLA_TARGETS": "critical=4h,bogus=1h"}, "SLA_TARGETS='critical=4h,bogus=1h': SLA target for unknown"),
        ({"ENVIRONMENT": "staging"}, "ENVIRONMENT='staging': input should be 'development' or 'production'"),
    ],
    ids=["mysql", "asyncpg", "unparsable-url", "port", "sla-targets", "environment"],
)
def test_a_setting_the_service_cannot_use_is_one_line_naming_it_and_exit_code_2(
    env: dict[str, str], says: str, tmp_path: Path
) -> None:
    result = run_cli("serve", env={**_QUIET, **env}, cwd=tmp_path)

    assert result.returncode == 2
    line = _one_line(result.stderr)
    assert says in line
    assert "README's Configuration table" in line
    assert result.stdout == ""


@pytest.mark.parametrize("command", ["migrate", "token"])
def test_every_command_reads_its_settings_the_same_way(command: str, tmp_path: Path) -> None:
    result = run_cli(command, env={**_QUIET, "DATABASE_URL": "mysql://ops:pw@db/ops"}, cwd=tmp_path)

    assert result.returncode == 2
    assert "DATABASE_URL: mysql:// is not a PostgreSQL URL" in _one_line(result.stderr)


@pytest.mark.parametrize("command", ["serve", "deliveries"])
def test_an_unreachable_database_is_one_line_with_the_url_without_its_password(command: str, tmp_path: Path) -> None:
    url = _unreachable()
    result = run_cli(command, env={**_QUIET, "DATABASE_URL": url}, cwd=tmp_path)

    assert result.returncode == 2
    line = _one_line(result.stderr)
    assert f"DATABASE_URL: cannot use the database at {url.replace('hunter2-secret', '***')}" in line
    assert "Connection refused" in line
    assert "check that PostgreSQL runs there" in line
    assert "hunter2" not in result.stderr + result.stdout


def test_a_login_the_server_refuses_is_told_to_correct_the_user(postgres: PgServer, tmp_path: Path) -> None:
    url = make_url(postgres.url("postgres")).set(username="nobody", password="wrong-password")
    env = {**_QUIET, "DATABASE_URL": url.render_as_string(hide_password=False)}
    result = run_cli("migrate", env=env, cwd=tmp_path)

    assert result.returncode == 2
    line = _one_line(result.stderr)
    assert 'role "nobody" does not exist; correct the user name in DATABASE_URL' in line
    assert "wrong-password" not in line


def test_a_data_dir_that_cannot_be_written_is_named(tmp_path: Path) -> None:
    blocked = tmp_path / "file"
    blocked.write_text("not a directory")
    result = run_cli("token", env={"DATA_DIR": str(blocked / "data")}, cwd=tmp_path)

    assert result.returncode == 2
    line = _one_line(result.stderr)
    assert f"DATA_DIR={blocked / 'data'}: cannot keep the development JWT secret there" in line


async def test_a_write_that_cannot_reach_the_database_is_the_same_one_line(tmp_path: Path) -> None:
    """Reprocessing opens each delivery's transaction through the write seam: an outage in the
    middle of a run reads as the same plain line, not as the service's StoreUnavailable."""
    url = _unreachable()
    engine = create_engine(url)
    try:
        with pytest.raises(ConfigError) as raised, plain_problems(make_settings(url, tmp_path)):
            async with write(engine):
                pass
    finally:
        await engine.dispose()

    said = str(raised.value)
    assert said.startswith(f"DATABASE_URL: cannot use the database at {url.replace('hunter2-secret', '***')}: ")
    assert "hunter2" not in said
