"""docker-compose.yml, the Dockerfile and .dockerignore, checked against the code.

No Docker engine runs here, so neither is built or run; what can be checked
by reading is: every environment variable is a real setting, the healthchecks
ask the liveness path the docs name, ports agree and are published on loopback
only, no secret has a default, the images are pinned, migrations run as a
one-off job, the image runs as an unprivileged user, the build context holds
only what is copied. Debian's `docker-compose` (which .ci/run installs)
validates the file with `config`, and the documented way to get a token
inside compose is run with the environment compose gives the service."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml
from sqlalchemy.engine import make_url

from app.auth.tokens import TokenVerifier
from app.cli import command_parsers
from app.config import Settings
from tests.support.cli import run_cli
from tests.support.routes import served_paths

ROOT = Path(__file__).resolve().parents[1]
COMPOSE = ROOT / "docker-compose.yml"
DOCKERFILE = ROOT / "Dockerfile"
DOCKERIGNORE = ROOT / ".dockerignore"
DEPLOYMENT = ROOT / "docs" / "deployment.md"
# Stand-ins for the secrets compose requires (none has a default).
# Random values, as `openssl rand -hex` would give: production refuses guessable ones.
_SECRETS = {
    "POSTGRES_PASSWORD": "b7174d939f6fdded2cb001f1",
    "JWT_SECRET": "a1a849c7ee34cd52ae311d209d63fafd30f8ed18",
    "JIRA_WEBHOOK_SECRET": "958ba58614099dfc8da247328ec15cd9",
    "ALERT_WEBHOOK_TOKEN": "444d94483f4369e4de9690c727990798",
}
# Optional in compose (METRICS_PUBLIC=true is the other way), but production needs one of the two.
_METRICS_TOKEN = {"METRICS_TOKEN": "793b2df13d59716c71e0d51c64a849c4"}
TOKEN_IN_COMPOSE = "docker compose exec -T ops-bridge ops-bridge token --sub you@example.com --roles admin"
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


def _compose_client() -> list[str]:
    docker = shutil.which("docker")
    if (
        docker is not None
        and subprocess.run([docker, "compose", "version"], capture_output=True, check=False).returncode == 0
    ):
        return [docker, "compose"]
    legacy = shutil.which("docker-compose")
    if legacy is None:
        pytest.fail("no compose client: apt-get install docker-compose (.ci/run does)", pytrace=False)
    return [legacy]


def _compose_config(tmp_path: Path, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    argv = [*_compose_client(), "-f", str(COMPOSE), "config"]
    return subprocess.run(
        argv, cwd=tmp_path, env={"PATH": "/usr/bin:/bin", **env}, capture_output=True, text=True, timeout=60
    )


def test_compose_runs_postgres_a_migration_job_and_the_service_with_settings_the_code_knows() -> None:
    services = _compose()["services"]
    postgres, migrate, service = services["postgres"], services["migrate"], services["ops-bridge"]

    assert {n for n, s in services.items() if "profiles" not in s} == {"postgres", "migrate", "ops-bridge"}
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


def test_the_broker_profile_runs_redis_and_each_role_with_settings_the_code_knows(tmp_path: Path) -> None:
    services = _compose()["services"]
    roles = {name: s for name, s in services.items() if s.get("profiles") == ["broker"] and name != "redis"}
    config = _compose_config(tmp_path, {**_SECRETS, "COMPOSE_PROFILES": "broker"})

    assert services["redis"]["profiles"] == ["broker"]
    assert {name: s["command"][-2:] for name, s in roles.items()} == {
        "relay": ["--role", "relay"], "ingest": ["--role", "ingest"], "edge": ["--role", "edge"]
    }  # fmt: skip
    for name, service in roles.items():
        assert set(service["environment"]) - SETTINGS == set(), name
        assert service["environment"]["BROKER_URL"].startswith("redis://redis:")
        assert service["depends_on"]["redis"]["condition"] == "service_healthy"
        assert service["depends_on"]["migrate"]["condition"] == "service_completed_successfully"
        assert _healthcheck_path(service["healthcheck"]["test"]) == _liveness_path()
    for name in ("ingest", "edge"):
        assert _resolved(roles[name]["ports"][0]).startswith("127.0.0.1:")
    assert config.returncode == 0, config.stderr
    assert "--role" in config.stdout


def test_compose_publishes_the_port_on_loopback_only_and_checks_liveness() -> None:
    service = _compose()["services"]["ops-bridge"]
    address, published, container = _resolved(service["ports"][0]).split(":")

    assert int(container) == int(service["environment"]["PORT"])
    assert service["environment"]["HOST"] == "0.0.0.0"  # inside the container; the host publishes loopback
    assert address == "127.0.0.1"
    assert int(published) > 0
    assert _healthcheck_path(service["healthcheck"]["test"]) == _liveness_path()


def _liveness_path() -> str:
    """The path docs/deployment.md says an orchestrator restarts on, and the service serves."""
    found = re.search(r"restart on `GET (/\w+)` failing", DEPLOYMENT.read_text())
    assert found, "docs/deployment.md no longer names the liveness path"
    assert found.group(1) in _served_paths()
    return found.group(1)


def test_compose_gives_no_secret_a_default_and_pins_its_images() -> None:
    text = COMPOSE.read_text()
    services = _compose()["services"]

    for name in _SECRETS:
        uses = re.findall(rf"\$\{{{name}(:?[-?])", text)
        assert uses, name
        assert set(uses) == {":?"}, f"{name} must be required, never defaulted"
    for service in services.values():
        if "image" in service:
            assert re.fullmatch(r"[\w./-]+:\d+\.\d+[\w.-]*(@sha256:[0-9a-f]{64})?", service["image"]), service["image"]


def test_production_refuses_the_old_default_database_password(tmp_path: Path) -> None:
    env = {**_SECRETS, **_METRICS_TOKEN, "ENVIRONMENT": "production"}
    env["DATABASE_URL"] = "postgresql://ops_bridge:change-me@127.0.0.1:5432/ops_bridge"
    result = run_cli("serve", env=env, cwd=tmp_path)

    assert result.returncode == 2
    assert "DATABASE_URL's password is a guessable value" in result.stderr
    assert "change-me" not in result.stderr


def test_the_image_is_slim_unprivileged_healthchecked_and_runs_the_service() -> None:
    text = DOCKERFILE.read_text()
    stages = re.findall(r"^FROM (\S+)", text, re.MULTILINE)
    user = re.findall(r"^USER (\S+)", text, re.MULTILINE)
    healthcheck = text[text.index("HEALTHCHECK") :].split("\n", 2)[:2]

    assert stages
    assert all(re.fullmatch(r"python:3\.11\.\d+-slim-\w+(@sha256:[0-9a-f]{64})?", stage) for stage in stages), stages
    assert len(set(stages)) == 1, "both stages on the same interpreter"
    assert user
    assert user[-1] not in ("root", "0")
    assert _healthcheck_path(" ".join(healthcheck)) == _liveness_path()
    assert re.search(r"^EXPOSE 8000$", text, re.MULTILINE)
    assert Settings.model_fields["port"].default == 8000
    assert re.search(r'^CMD \["ops-bridge", "serve"\]$', text, re.MULTILINE)
    for needed in ("COPY alembic.ini", "COPY migrations", "constraints.txt"):
        assert needed in text
    for name in re.findall(r"^\s+(\w+)=", text[text.index("ENV ") :], re.MULTILINE):
        assert name in SETTINGS or name.startswith(("PYTHON", "PATH")), name


def test_the_build_context_is_only_what_the_image_copies() -> None:
    patterns = [line.strip() for line in DOCKERIGNORE.read_text().splitlines() if line.strip() and line[0] != "#"]
    copied = {
        source.rstrip("/")
        for line in re.findall(r"^COPY (?!--from)(.+)$", DOCKERFILE.read_text(), re.MULTILINE)
        for source in line.split()[:-1]
    }

    assert patterns[0] == "*"  # everything is left out (.venv, .data, .git, caches, tests) ...
    assert {p[1:].rstrip("/") for p in patterns if p.startswith("!")} == copied  # ... but what is copied


def test_docker_compose_config_accepts_the_file_and_requires_every_secret(tmp_path: Path) -> None:
    accepted = _compose_config(tmp_path, _SECRETS)
    without_password = _compose_config(tmp_path, {k: v for k, v in _SECRETS.items() if k != "POSTGRES_PASSWORD"})

    assert accepted.returncode == 0, accepted.stderr
    assert "127.0.0.1:8000:8000" in accepted.stdout
    assert without_password.returncode != 0
    assert "set POSTGRES_PASSWORD" in without_password.stderr


def test_the_documented_way_to_get_a_token_inside_compose_works_with_its_environment(tmp_path: Path) -> None:
    config = yaml.safe_load(_compose_config(tmp_path, {**_SECRETS, **_METRICS_TOKEN}).stdout)
    environment = {name: str(value) for name, value in config["services"]["ops-bridge"]["environment"].items()}
    command = TOKEN_IN_COMPOSE.split("ops-bridge ops-bridge ", 1)[1].split()
    result = run_cli(*command, env=environment, cwd=tmp_path)

    assert TOKEN_IN_COMPOSE in COMPOSE.read_text()
    assert TOKEN_IN_COMPOSE in DEPLOYMENT.read_text()
    assert result.returncode == 0, result.stderr
    verifier = TokenVerifier.from_settings(Settings(_env_file=None, jwt_secret=_SECRETS["JWT_SECRET"]))
    assert verifier.verify(result.stdout.strip()).roles == frozenset({"admin"})
