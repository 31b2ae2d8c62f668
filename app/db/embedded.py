"""A private PostgreSQL cluster for development and tests.

When `DATABASE_URL` is unset, `ops-bridge serve` and the test suite start a
cluster of their own from the server binaries that the `pgserver` wheel ships,
so a fresh machine needs nothing but Python. We drive `initdb` and `pg_ctl`
ourselves rather than through `pgserver.get_server()` because the service must
decide when the server stops (on Ctrl-C, not when the last Python handle is
garbage-collected), pass server settings, and restart it in fault tests.

The cluster listens on a Unix socket only: no TCP port to collide with another
PostgreSQL on the machine.
"""

from __future__ import annotations

import contextlib
import hashlib
import importlib.util
import os
import pwd
import shutil
import subprocess
import tempfile
from collections.abc import Iterator, Mapping
from pathlib import Path

# PostgreSQL refuses to run as root; under root the cluster runs as this user.
_SYSTEM_USER = "ops-bridge-pg"
# Unix socket paths are limited to 107 bytes on Linux.
_MAX_SOCKET_DIR = 90
_PORT = 5432


class EmbeddedPostgresError(RuntimeError):
    """The embedded cluster could not be initialised, started or stopped."""


def find_bin_dir() -> Path:
    """Where the PostgreSQL server binaries are: pgserver's wheel, else `PATH`."""
    spec = importlib.util.find_spec("pgserver")
    if spec is not None and spec.origin is not None:
        candidate = Path(spec.origin).parent / "pginstall" / "bin"
        if (candidate / "pg_ctl").exists():
            return candidate
    on_path = shutil.which("pg_ctl")
    if on_path is not None:
        return Path(on_path).parent
    raise EmbeddedPostgresError(
        "no PostgreSQL server binaries found: install the 'embedded' extra "
        "(pip install 'ops-bridge[embedded]') or set DATABASE_URL"
    )


class EmbeddedPostgres:
    """One cluster in `data_dir`, created on first start and kept across runs."""

    def __init__(
        self,
        data_dir: Path,
        *,
        server_settings: Mapping[str, str] | None = None,
        bin_dir: Path | None = None,
    ) -> None:
        self.data_dir = data_dir.resolve()
        self.server_settings = dict(server_settings or {})
        self.bin_dir = bin_dir or find_bin_dir()
        self._run_as = _ensure_system_user() if os.geteuid() == 0 else None
        # Under root, run as the server user with its own group only: root's
        # group must not decide (or deny) access to directories on the way.
        entry = pwd.getpwnam(self._run_as) if self._run_as else None
        self._uid = entry.pw_uid if entry else None
        self._gid = entry.pw_gid if entry else None
        self._extra_groups: list[int] | None = [] if entry else None
        self.socket_dir = self._choose_socket_dir()

    @property
    def pgdata(self) -> Path:
        return self.data_dir / "pgdata"

    def url(self, database: str = "postgres") -> str:
        """A libpq URL for `database` over the cluster's Unix socket."""
        return f"postgresql://postgres@/{database}?host={self.socket_dir}&port={_PORT}"

    def start(self) -> None:
        self._init_if_needed()
        if self.is_running():
            return  # left over from a run that was killed: adopt it
        options = [f"-k {self.socket_dir}", "-c listen_addresses=''", f"-p {_PORT}"]
        options += [f"-c {name}={value}" for name, value in self.server_settings.items()]
        log = self.data_dir / "postgres.log"
        self._pg_ctl("start", "-w", "-t", "60", "-l", str(log), "-o", " ".join(options))

    def stop(self, mode: str = "fast") -> None:
        if self.pgdata.exists() and self.is_running():
            self._pg_ctl("stop", "-w", "-m", mode)

    def restart(self) -> None:
        self.stop()
        self.start()

    def is_running(self) -> bool:
        result = subprocess.run(  # noqa: S603 - fixed binary, arguments built here
            [str(self.bin_dir / "pg_ctl"), "status", "-D", str(self.pgdata)],
            capture_output=True,
            check=False,
            user=self._uid,
            group=self._gid,
            extra_groups=self._extra_groups,
        )
        return result.returncode == 0

    def _init_if_needed(self) -> None:
        if (self.pgdata / "PG_VERSION").exists():
            return
        self.data_dir.mkdir(parents=True, exist_ok=True)
        self.pgdata.mkdir(mode=0o700, exist_ok=True)
        self._hand_over(self.data_dir)
        self._hand_over(self.pgdata)
        self._run(
            "initdb",
            "-D",
            str(self.pgdata),
            "-U",
            "postgres",
            "--auth=trust",
            "--encoding=UTF8",
            "--locale=C",
        )

    def _choose_socket_dir(self) -> Path:
        if len(str(self.data_dir)) <= _MAX_SOCKET_DIR:
            return self.data_dir
        # A short, stable directory per data dir, so a restart finds the same socket.
        digest = hashlib.sha256(str(self.data_dir).encode()).hexdigest()[:12]
        return Path(tempfile.gettempdir()) / f"ops-bridge-pg-{digest}"

    def _hand_over(self, path: Path) -> None:
        """Let the unprivileged server user own `path` and reach it."""
        if self._run_as is None:
            return
        entry = pwd.getpwnam(self._run_as)
        os.chown(path, entry.pw_uid, entry.pw_gid)
        for parent in path.parents:
            mode = parent.stat().st_mode
            if mode & 0o001 == 0:
                parent.chmod(mode | 0o001)

    def _pg_ctl(self, *args: str) -> None:
        self.socket_dir.mkdir(parents=True, exist_ok=True)
        self._hand_over(self.socket_dir)
        self._run("pg_ctl", "-D", str(self.pgdata), *args)

    def _run(self, program: str, *args: str) -> None:
        result = subprocess.run(  # noqa: S603 - fixed binaries, arguments built here
            [str(self.bin_dir / program), *args],
            capture_output=True,
            text=True,
            check=False,
            user=self._uid,
            group=self._gid,
            extra_groups=self._extra_groups,
            # initdb and pg_ctl resolve relative paths against the working
            # directory, which the server user may not be allowed to enter.
            cwd="/",
            # Its own session: a Ctrl-C meant for the service must not reach the
            # postmaster, which the service stops itself, in order.
            start_new_session=True,
        )
        if result.returncode != 0:
            log = self.data_dir / "postgres.log"
            tail = log.read_text(errors="replace")[-2000:] if log.exists() else ""
            raise EmbeddedPostgresError(f"{program} {args[0] if args else ''} failed: {result.stderr.strip()}\n{tail}")


@contextlib.contextmanager
def running(data_dir: Path, *, server_settings: Mapping[str, str] | None = None) -> Iterator[EmbeddedPostgres]:
    """Start the cluster for the duration of the block, stopping it on the way out."""
    cluster = EmbeddedPostgres(data_dir, server_settings=server_settings)
    cluster.start()
    try:
        yield cluster
    finally:
        cluster.stop()


def _ensure_system_user() -> str:
    try:
        pwd.getpwnam(_SYSTEM_USER)
    except KeyError:
        command = ["useradd", "--system", "--no-create-home", "--shell", "/usr/sbin/nologin", _SYSTEM_USER]
        subprocess.run(command, check=True, capture_output=True)  # noqa: S603 - fixed arguments
    return _SYSTEM_USER
