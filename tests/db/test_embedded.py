"""The embedded development cluster: it belongs to the process that started it, and it is
private to the service's user.

Real `ops-bridge` processes in a temporary DATA_DIR (no DATABASE_URL), real sockets."""

from __future__ import annotations

import os
import pwd
import shutil
import signal
import stat
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import httpx
import psycopg
import pytest

from app.db.embedded import EmbeddedPostgres, find_bin_dir
from tests.conftest import JWT_SECRET
from tests.support.database import cluster_directory
from tests.support.jira import issue_event
from tests.support.server import server_process

_OTHER_USER = "ops-bridge-test-other"


@pytest.fixture
def data_root() -> Iterator[Path]:
    with cluster_directory("embedded") as root:
        yield root


def _env(root: Path) -> dict[str, str]:
    return {"DATA_DIR": str(root / "data"), "JWT_SECRET": JWT_SECRET}


def _cli(root: Path, *args: str) -> subprocess.CompletedProcess[str]:
    inherited = {k: v for k, v in os.environ.items() if k not in {"DATABASE_URL", "DATA_DIR", "JWT_SECRET"}}
    return subprocess.run(
        [sys.executable, "-m", "app.cli", *args],
        env={**inherited, **_env(root)},
        cwd=root,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def _serves(http_base: str) -> int:
    return httpx.post(f"{http_base}/api/webhooks/jira", json=issue_event(1), timeout=10).status_code


@pytest.mark.timeout(300)
def test_only_the_process_that_started_the_cluster_stops_it(data_root: Path) -> None:
    cluster = EmbeddedPostgres(data_root / "data" / "postgres")
    with server_process(_env(data_root), migrate=True, cwd=str(data_root)) as owner:
        migrated = _cli(data_root, "migrate")
        after_migrate = (cluster.is_running(), _serves(owner.http))

        with server_process(_env(data_root), migrate=True, cwd=str(data_root)) as second:
            second.process.send_signal(signal.SIGINT)  # Ctrl-C
            second_exit = second.process.wait(60)
        after_second = (cluster.is_running(), _serves(owner.http))

        busy = _cli(data_root, "serve", "--port", str(owner.port))
        after_busy = (cluster.is_running(), _serves(owner.http))

        owner.process.send_signal(signal.SIGINT)
        owner_exit = owner.process.wait(60)

    assert migrated.returncode == 0, migrated.stderr
    assert after_migrate == (True, 200)
    assert second_exit == 0
    assert after_second == (True, 200)
    assert busy.returncode != 0
    assert after_busy == (True, 200)
    assert owner_exit == 0
    assert not cluster.is_running()


@pytest.mark.timeout(300)
def test_a_cluster_whose_owner_was_killed_is_adopted_and_then_stopped_by_its_new_owner(data_root: Path) -> None:
    cluster = EmbeddedPostgres(data_root / "data" / "postgres")
    with server_process(_env(data_root), migrate=True, cwd=str(data_root)) as first:
        first.kill()  # SIGKILL: nothing stops the cluster
    left_running = cluster.is_running()
    with server_process(_env(data_root), migrate=True, cwd=str(data_root)) as adopter:
        serves = _serves(adopter.http)
        adopter.process.send_signal(signal.SIGINT)
        adopter_exit = adopter.process.wait(60)

    assert left_running
    assert serves == 200
    assert adopter_exit == 0
    assert not cluster.is_running()


def _connect_as_other_user(socket_path: Path) -> str:
    """What another local account gets when it opens the cluster's socket (as root: a user
    made for the test; the system's python, which that user may run)."""
    if subprocess.run(["id", _OTHER_USER], capture_output=True, check=False).returncode != 0:
        subprocess.run(["useradd", "--system", "--no-create-home", _OTHER_USER], check=True)
    probe = (
        "import socket, sys\n"
        "s = socket.socket(socket.AF_UNIX)\n"
        "try:\n    s.connect(sys.argv[1])\nexcept OSError as e:\n    print(type(e).__name__)\n"
        "else:\n    print('connected')\n"
    )
    result = subprocess.run(
        ["/usr/bin/python3", "-c", probe, str(socket_path)],
        user=_OTHER_USER,
        cwd="/",
        capture_output=True,
        text=True,
        check=False,
    )
    return result.stdout.strip() or result.stderr.strip()


def test_the_cluster_is_private_to_the_service_s_user(data_root: Path) -> None:
    parent_mode = stat.S_IMODE(data_root.stat().st_mode)
    cluster = EmbeddedPostgres(data_root / "data" / "postgres")
    cluster.start()
    try:
        socket_path = cluster.socket_dir / ".s.PGSQL.5432"
        with psycopg.connect(cluster.url(), autocommit=True) as conn:
            listen = conn.execute("SHOW listen_addresses").fetchone()
            rules = conn.execute("SELECT type, auth_method FROM pg_hba_file_rules").fetchall()
        socket_dir_mode = stat.S_IMODE(cluster.socket_dir.stat().st_mode)
        socket_mode = stat.S_IMODE(socket_path.stat().st_mode)
        other = _connect_as_other_user(socket_path) if os.geteuid() == 0 else None
    finally:
        cluster.stop()

    assert listen == ("",)
    assert rules == [("local", "trust")]
    assert socket_dir_mode == 0o700
    assert socket_mode == 0o700
    if other is not None:
        assert other == "PermissionError"
    # Nothing above the cluster's own directory changed mode.
    assert stat.S_IMODE(data_root.stat().st_mode) == parent_mode


def test_a_data_dir_the_cluster_s_user_cannot_reach_is_named_and_left_as_it_is(data_root: Path) -> None:
    private = data_root / "private"
    private.mkdir(mode=0o700)

    result = _cli(private, "migrate")

    assert stat.S_IMODE(private.stat().st_mode) == 0o700
    if os.geteuid() == 0:
        # The cluster runs as its own user, which may not enter a 0700 directory of root's.
        [line] = [line for line in result.stderr.splitlines() if line.startswith("ops-bridge:")]
        assert result.returncode == 2
        assert f"cannot enter {private} (mode 0700)" in line
        assert "set DATA_DIR to a directory that user can reach" in line
    else:
        assert result.returncode == 0, result.stderr  # the service's own user reaches its own directory


def test_server_binaries_in_a_private_directory_are_run_from_a_copy_the_cluster_s_user_can_reach(
    data_root: Path,
) -> None:
    # The wheel's layout (site-packages/pgserver/pginstall, site-packages/pgserver.libs) in a
    # 0700 directory, as a virtualenv in root's home directory has it.
    private = data_root / "private-venv"
    private.mkdir(mode=0o700)
    installed = find_bin_dir().parent
    shutil.copytree(installed.parent, private / installed.parent.name, symlinks=True)
    libs = installed.parent.parent / f"{installed.parent.name}.libs"
    if libs.is_dir():
        shutil.copytree(libs, private / libs.name, symlinks=True)
    given = private / installed.parent.name / installed.name / "bin"
    cluster = EmbeddedPostgres(data_root / "data" / "postgres", bin_dir=given)
    try:
        cluster.start()
        with psycopg.connect(cluster.url(), autocommit=True) as conn:
            answer = conn.execute("SELECT 1").fetchone()
        cluster.stop()
        copy_owner = pwd.getpwuid(cluster.bin_dir.stat().st_uid).pw_name
    finally:
        if cluster.bin_dir != given:
            shutil.rmtree(cluster.bin_dir.parents[2], ignore_errors=True)

    assert answer == (1,)
    assert stat.S_IMODE(private.stat().st_mode) == 0o700
    if os.geteuid() == 0:
        assert cluster.bin_dir != given
        assert copy_owner == "root"
