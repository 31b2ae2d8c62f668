from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from app.auth.tokens import mint_token
from app.config import Settings
from tests.support import report
from tests.support.database import PgServer, cluster_directory, pg_server
from tests.support.pgbouncer import Pooler, pgbouncer
from tests.support.server import RunningServer, server_in_thread

# Every message the suite's WebSocket clients receive or send is checked against
# the published AsyncAPI document; pytester runs the check's own failing case.
pytest_plugins = ["pytester", "tests.support.contract_check"]

JWT_SECRET = "test-secret-that-is-long-enough-for-hs256-0123456789"


@pytest.fixture(scope="session")
def postgres() -> Iterator[PgServer]:
    with cluster_directory("postgres") as root, pg_server(root) as server:
        server.create_template()
        yield server


@pytest.fixture
def database_url(postgres: PgServer) -> Iterator[str]:
    with postgres.fresh_database() as url:
        yield url


def make_settings(database_url: str, tmp_path: Path, **overrides: Any) -> Settings:
    values: dict[str, Any] = {
        "database_url": database_url,
        "jwt_secret": JWT_SECRET,
        "data_dir": tmp_path / "data",
        "listener_poll_interval": 0.5,
        **overrides,
    }
    return Settings(_env_file=None, **values)


@pytest.fixture
def settings(database_url: str, tmp_path: Path) -> Settings:
    return make_settings(database_url, tmp_path)


@pytest.fixture
def server(settings: Settings) -> Iterator[RunningServer]:
    with server_in_thread(settings) as running:
        yield running


@pytest.fixture
async def http(server: RunningServer) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(base_url=server.http, timeout=10) as client:
        yield client


def token(
    *,
    sub: str = "tester",
    roles: tuple[str, ...] = ("viewer",),
    squads: tuple[str, ...] = ("*",),
    environments: tuple[str, ...] = ("*",),
    ttl: int = 3600,
    secret: str = JWT_SECRET,
    **extra: Any,
) -> str:
    return mint_token(secret, sub=sub, roles=roles, squads=squads, environments=environments, ttl_seconds=ttl, **extra)


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    for section, lines in report.SECTIONS.items():
        terminalreporter.section(section)
        for line in lines:
            terminalreporter.write_line(line)


@pytest.fixture
def pooler(postgres: PgServer) -> Iterator[Pooler]:
    """PgBouncer in transaction mode in front of the suite's PostgreSQL (tests/support/pgbouncer.py)."""
    with pgbouncer(postgres.base_url) as running:
        yield running
