"""docker-compose.yml and the Dockerfile, checked against the code.

No Docker engine runs here, so neither is built or run; what can be checked
by reading is: every environment variable is a real setting, the healthchecks
ask paths the service serves, ports agree, migrations run as a one-off job,
the image runs as an unprivileged user. `docker compose config` validates the
file too where a compose client is installed (detected, not assumed)."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import yaml
from sqlalchemy.engine import make_url

from app.cli import command_parsers
from app.config import Settings
from tests.support.routes import served_paths

ROOT = Path(__file__).resolve().parents[1]
COMPOSE = ROOT / "docker-compose.yml"
DOCKERFILE = ROOT / "Dockerfile"
SETTINGS = {name.upper() for name in Settings.model_fields}
_INTERPOLATION = re.compile(r"\$\{(\w+)(?::?[-?][^}]*)?\}")


def _compose() -> dict[str, Any]:
    loaded: dict[str, Any] = yaml.safe_load(COMPOSE.read_text())
    return loaded


def _served_paths() -> set[str]:
    return set(served_paths())


def _resolved(value: str) -> str:
    """`${NAME:-default}` as compose would fill it with NAME unset (and a stand-in for required ones)."""
    return _INTERPOLATION.sub(lambda m: m.group(0).split(":-", 1)[1][:-1] if ":-" in m.group(0) else "x", value)


def _healthcheck_path(test: list[str] | str) -> str:
    found = re.search(r"http://127\.0\.0\.1:[^/]+(/[a-z]+)", " ".join(test) if isinstance(test, list) else test)
    assert found, f"no local URL in the healthcheck {test!r}"
    return found.group(1)


def _compose_client() -> list[str] | None:
    docker = shutil.which("docker")
    if (
        docker is not None
        and subprocess.run([docker, "compose", "version"], capture_output=True, check=False).returncode == 0
    ):
        return [docker, "compose"]
    legacy = shutil.which("docker-compose")
    return [legacy] if legacy is not None else None


def test_compose_runs_postgres_a_migration_job_and_the_service_with_settings_the_code_knows() -> None:
    services = _compose()["services"]
    postgres, migrate, service = services["postgres"], services["migrate"], services["ops-bridge"]

    assert set(services) == {"postgres", "migrate", "ops-bridge"}
    for name in ("migrate", "ops-bridge"):
        unknown = set(services[name]["environment"]) - SETTINGS
        assert unknown == set(), f"{name} sets variables that are no setting: {unknown}"
        url = make_url(_resolved(services[name]["environment"]["DATABASE_URL"]))
        expected = ("postgres", 5432, postgres["environment"]["POSTGRES_DB"], postgres["environment"]["POSTGRES_USER"])
        assert (url.host, url.port, url.database, url.username) == expected
    # Migrations are a one-off job the service waits for; it does not migrate on start itself.
    assert migrate["command"][:2] == ["ops-bridge", "migrate"]
    assert "migrate" in command_parsers()
    assert service["depends_on"]["migrate"]["condition"] == "service_completed_successfully"
    assert service["depends_on"]["postgres"]["condition"] == "service_healthy"
    assert service["environment"]["MIGRATE_ON_START"] == "false"
    assert "pg_isready" in " ".join(postgres["healthcheck"]["test"])
    assert "pgdata:/var/lib/postgresql/data" in postgres["volumes"]
    assert "pgdata" in _compose()["volumes"]


def test_compose_publishes_the_port_the_service_binds_and_checks_a_path_it_serves() -> None:
    service = _compose()["services"]["ops-bridge"]
    published, container = service["ports"][0].split(":")

    assert int(container) == int(service["environment"]["PORT"])
    assert service["environment"]["HOST"] == "0.0.0.0"
    assert _healthcheck_path(service["healthcheck"]["test"]) in _served_paths()
    assert int(published) > 0


def test_the_image_is_slim_unprivileged_healthchecked_and_runs_the_service() -> None:
    text = DOCKERFILE.read_text()
    stages = re.findall(r"^FROM (\S+)", text, re.MULTILINE)
    user = re.findall(r"^USER (\S+)", text, re.MULTILINE)
    healthcheck = text[text.index("HEALTHCHECK") :].split("\n", 2)[:2]

    assert all(stage.endswith("-slim") for stage in stages)
    assert user
    assert user[-1] not in ("root", "0")
    assert _healthcheck_path(" ".join(healthcheck)) in _served_paths()
    assert re.search(r"^EXPOSE 8000$", text, re.MULTILINE)
    assert Settings.model_fields["port"].default == 8000
    assert re.search(r'^CMD \["ops-bridge", "serve"\]$', text, re.MULTILINE)
    for needed in ("COPY alembic.ini", "COPY migrations", "constraints.txt"):
        assert needed in text
    for name in re.findall(r"^\s+(\w+)=", text[text.index("ENV ") :], re.MULTILINE):
        assert name in SETTINGS or name.startswith(("PYTHON", "PATH")), name


def test_docker_compose_config_accepts_the_file_where_a_compose_client_exists(tmp_path: Path) -> None:
    client = _compose_client()
    parsed = _compose()
    assert parsed["services"]  # what follows runs only with a client; the parse above runs everywhere
    if client is None:
        return
    env = {
        "PATH": "/usr/bin:/bin",
        "JWT_SECRET": "x" * 40,
        "JIRA_WEBHOOK_SECRET": "y" * 20,
        "ALERT_WEBHOOK_TOKEN": "z" * 20,
    }
    argv = [*client, "-f", str(COMPOSE), "config", "--quiet"]
    result = subprocess.run(argv, cwd=tmp_path, env=env, capture_output=True, text=True, check=False, timeout=60)
    assert result.returncode == 0, result.stderr
