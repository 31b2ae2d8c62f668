"""The development JWT secret: one file in DATA_DIR, private from its first byte, found by every
command from any working directory; a token signed with another one is refused with that said."""

from __future__ import annotations

import os
import stat
import subprocess
import sys
from pathlib import Path
from types import FrameType

import httpx

from app.config import Settings, development_jwt_secret
from tests.conftest import JWT_SECRET
from tests.support.server import RunningServer, server_process

_SETTINGS = {name.upper() for name in Settings.model_fields}


def _token(cwd: Path, **env: str) -> str:
    """`ops-bridge token` as a developer types it in `cwd`: none of the suite's settings."""
    inherited = {k: v for k, v in os.environ.items() if k not in _SETTINGS and not k.startswith("PROMETHEUS")}
    result = subprocess.run(
        [sys.executable, "-m", "app.cli", "token", "--roles", "admin"],
        env={**inherited, **env},
        cwd=cwd,
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    )
    return result.stdout.strip()


def test_the_secret_file_is_never_readable_by_others_not_even_while_it_is_written(tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    modes: set[int] = set()

    def look(_frame: FrameType, _event: str, _arg: object) -> None:
        # Called at every function call and return of the creation: whatever file exists is looked at.
        if data_dir.is_dir():
            modes.update(stat.S_IMODE(entry.stat().st_mode) for entry in data_dir.iterdir())

    umask = os.umask(0o022)
    sys.setprofile(look)
    try:
        secret = development_jwt_secret(data_dir)
    finally:
        sys.setprofile(None)
        os.umask(umask)

    assert modes == {0o600}
    assert [entry.name for entry in data_dir.iterdir()] == ["dev-jwt-secret"]
    assert (data_dir / "dev-jwt-secret").read_text().strip() == secret
    assert development_jwt_secret(data_dir) == secret


async def test_a_token_minted_in_another_directory_is_accepted_by_the_server(database_url: str, tmp_path: Path) -> None:
    (tmp_path / "here").mkdir()
    (tmp_path / "elsewhere").mkdir()

    with server_process({"DATABASE_URL": database_url}, cwd=str(tmp_path / "here")) as running:
        bearer = {"Authorization": f"Bearer {_token(tmp_path / 'elsewhere')}"}
        async with httpx.AsyncClient() as http:
            answer = await http.get(f"{running.http}/api/session", headers=bearer)

    assert answer.status_code == 200, answer.text
    assert not (tmp_path / "here" / ".data").exists()
    assert not (tmp_path / "elsewhere" / ".data").exists()


async def test_a_token_signed_with_another_development_secret_is_refused_with_that_said(
    server: RunningServer, tmp_path: Path
) -> None:
    other = tmp_path / "another-checkout-data"
    token = _token(tmp_path, DATA_DIR=str(other))
    async with httpx.AsyncClient() as http:
        answer = await http.get(f"{server.http}/api/session", headers={"Authorization": f"Bearer {token}"})

    assert answer.status_code == 401
    message = answer.json()["error"]["message"]
    assert message.startswith("invalid signature: the token was signed with a development secret this server")
    assert "ops-bridge token" in message
    secrets = [(other / "dev-jwt-secret").read_text().strip(), JWT_SECRET]
    assert not any(secret in answer.text for secret in secrets)
