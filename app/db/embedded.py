"""A private PostgreSQL cluster for development and tests.

When `DATABASE_URL` is unset, `ops-bridge serve` and the test suite start a
cluster of their own from the server binaries that the `pgserver` wheel ships,
so a fresh machine needs nothing but Python. We drive `initdb` and `pg_ctl`
ourselves rather than through `pgserver.get_server()` because the service must
decide when the server stops (on Ctrl-C, not when the last Python handle is
garbage-collected), pass server settings, and restart it in fault tests.

The cluster listens on a Unix socket only: no TCP port to collide with another
PostgreSQL on the machine, and none for anyone else to reach. It trusts whoever
reaches that socket, so the socket's directory is private to the cluster's
user (0700, the socket itself 0700 too) and pg_hba.conf admits local
connections only: another account on the machine cannot connect (and through
`COPY ... FROM PROGRAM` run commands as the cluster's user).

The cluster belongs to the process that started it (or adopted it, when the
process that started it was killed): a second `serve` in the same checkout,
`ops-bridge migrate`, or a `serve` that fails because its port is taken, uses
the running cluster and never stops it. Ownership is an exclusive `flock` on
`owner.lock`, held for as long as the owner runs: the kernel drops it when the
owner dies, however it dies, so the next starter can tell a live owner from a
dead one without trusting a pid file.

Run as root, the server runs as a system user of its own (PostgreSQL refuses
root). That user must reach DATA_DIR and the server binaries: the service never
changes the modes of directories it did not create, so a DATA_DIR it cannot
reach is refused with the directory named, and binaries it cannot reach (a
virtualenv in a 0700 home directory) are copied once to a root-owned directory
it can.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import importlib.util
import logging
import os
import pwd
import shutil
import stat
import subprocess
import tempfile
from collections.abc import Iterator, Mapping
from pathlib import Path

_log = logging.getLogger(__name__)

# PostgreSQL refuses to run as root; under root the cluster runs as this user.
_SYSTEM_USER = "ops-bridge-pg"
# Unix socket paths are limited to 107 bytes on Linux.
_MAX_SOCKET_DIR = 90
_PORT = 5432
# Whoever reaches the socket is trusted: only the local socket, and (the socket's
# directory being private) only the cluster's user, and root.
_HBA = "# Written by ops-bridge (app/db/embedded.py) at every start.\nlocal all all trust\n"
# Where a root-run service copies server binaries its cluster user cannot reach.
_SHARED_INSTALLS = (Path("/var/lib/ops-bridge"), Path(tempfile.gettempdir()) / "ops-bridge-root")


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
        self._run_as = _ensure_system_user() if os.geteuid() == 0 else None
        # Under root, run as the server user with its own group only: root's
        # group must not decide (or deny) access to directories on the way.
        entry = pwd.getpwnam(self._run_as) if self._run_as else None
        self._uid = entry.pw_uid if entry else None
        self._gid = entry.pw_gid if entry else None
        self._extra_groups: list[int] | None = [] if entry else None
        self.bin_dir = self._reachable_bin_dir(bin_dir or find_bin_dir())
        self.socket_dir = self._choose_socket_dir()
        # The open owner.lock while this process owns the cluster; None while it only uses it.
        self._owner_lock: int | None = None

    @property
    def owner(self) -> bool:
        """Whether this process started (or adopted) the cluster, and so stops it."""
        return self._owner_lock is not None

    @property
    def pgdata(self) -> Path:
        return self.data_dir / "pgdata"

    def url(self, database: str = "postgres") -> str:
        """A libpq URL for `database` over the cluster's Unix socket."""
        return f"postgresql://postgres@/{database}?host={self.socket_dir}&port={_PORT}"

    def start(self) -> None:
        """Make sure the cluster runs: start it (and own it) if nobody does, adopt it if its
        owner died, or use it as it is while its owner lives."""
        if self.owner:
            if not self.is_running():
                self._start_server()
            return
        self._check_reachable(self.data_dir)
        self.data_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
        # One starter at a time: two processes started together must not both run pg_ctl.
        with _locked(self.data_dir / "start.lock"):
            self._init_if_needed()
            owner = _try_lock(self.data_dir / "owner.lock")
            if owner is None:
                if not self.is_running():
                    raise EmbeddedPostgresError(
                        f"the embedded PostgreSQL in {self.pgdata} belongs to a live process "
                        f"({_owner_pid(self.data_dir)}) that is not running it"
                    )
                _log.info("using the embedded PostgreSQL of process %s; it stops it", _owner_pid(self.data_dir))
                return
            self._owner_lock = owner
            os.write(owner, f"{os.getpid()}\n".encode())
            if self.is_running():
                _log.info("adopting the embedded PostgreSQL left running by a process that died")
                return
            self._start_server()

    def stop(self, mode: str = "fast") -> None:
        """Stop the cluster if this process owns it; a process that only uses it leaves it running."""
        if not self.owner:
            return
        try:
            if self.pgdata.exists() and self.is_running():
                self._pg_ctl("stop", "-w", "-m", mode)
        finally:
            self.release()

    def release(self) -> None:
        """Give up ownership without stopping the cluster (the next starter adopts it)."""
        if self._owner_lock is not None:
            os.close(self._owner_lock)
            self._owner_lock = None

    def _start_server(self) -> None:
        self._private_access()
        options = [
            f"-k {self.socket_dir}",
            "-c listen_addresses=''",
            "-c unix_socket_permissions=0700",
            f"-p {_PORT}",
        ]
        options += [f"-c {name}={value}" for name, value in self.server_settings.items()]
        log = self.data_dir / "postgres.log"
        self._pg_ctl("start", "-w", "-t", "60", "-l", str(log), "-o", " ".join(options))

    def restart(self) -> None:
        """Stop and start again, staying its owner (fault tests)."""
        if self.owner and self.is_running():
            self._pg_ctl("stop", "-w", "-m", "fast")
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
        self.pgdata.mkdir(mode=0o700, exist_ok=True)
        self._hand_over(self.data_dir)
        self._hand_over(self.pgdata)
        self._run(
            "initdb",
            "-D",
            str(self.pgdata),
            "-U",
            "postgres",
            "--auth-local=trust",
            "--auth-host=reject",
            "--encoding=UTF8",
            "--locale=C",
        )

    def _private_access(self) -> None:
        """Before every start (clusters made by earlier versions too): local connections only,
        through a socket in a directory only the cluster's user may enter."""
        hba = self.pgdata / "pg_hba.conf"
        if hba.read_text() != _HBA:
            with hba.open("w") as out:  # in place: the file keeps its owner (the cluster's user)
                out.write(_HBA)
        self.data_dir.chmod(0o700)  # ours: created by the service
        self._hand_over(self.data_dir)

    def _choose_socket_dir(self) -> Path:
        if len(str(self.data_dir)) <= _MAX_SOCKET_DIR:
            return self.data_dir
        # A short, stable directory per data dir, so a restart finds the same socket.
        digest = hashlib.sha256(str(self.data_dir).encode()).hexdigest()[:12]
        return Path(tempfile.gettempdir()) / f"ops-bridge-pg-{digest}"

    def _private_socket_dir(self) -> None:
        """The socket's directory, 0700 and the cluster's user's: one found in a shared place
        (/tmp) that anybody else made, or that is a link, is refused rather than used."""
        if self.socket_dir == self.data_dir:
            return
        with contextlib.suppress(FileExistsError):
            self.socket_dir.mkdir(mode=0o700)
            self._hand_over(self.socket_dir)
        found = self.socket_dir.lstat()
        mine = {os.geteuid(), self._uid if self._uid is not None else os.geteuid()}
        if not stat.S_ISDIR(found.st_mode) or found.st_uid not in mine:
            raise EmbeddedPostgresError(
                f"{self.socket_dir} (the embedded PostgreSQL's socket directory) is not a directory of this "
                "service's: remove it, or set DATA_DIR to a shorter path"
            )
        self.socket_dir.chmod(0o700)

    def _hand_over(self, path: Path) -> None:
        """Let the unprivileged server user own `path`, a directory the service created."""
        if self._uid is None or self._gid is None:
            return
        os.chown(path, self._uid, self._gid)

    def _check_reachable(self, path: Path) -> None:
        """Under root: refuse, naming it, a directory on the way to `path` that the cluster's
        user may not enter (the service does not change modes of directories it did not make)."""
        blocked = _first_unreachable(path, self._uid, self._gid)
        if blocked is not None:
            raise EmbeddedPostgresError(
                f"its user {self._run_as} (PostgreSQL does not run as root) cannot enter {blocked} "
                f"(mode {stat.S_IMODE(blocked.stat().st_mode):04o}), and the service does not change modes of "
                "directories it did not make: set DATA_DIR to a directory that user can reach"
            )

    def _reachable_bin_dir(self, bin_dir: Path) -> Path:
        """`bin_dir`, or (under root, when the cluster's user cannot reach it) a copy of its
        installation in a root-owned directory it can."""
        if _first_unreachable(bin_dir / "postgres", self._uid, self._gid) is None:
            return bin_dir
        return _shared_copy(bin_dir.parent) / "bin"

    def _pg_ctl(self, *args: str) -> None:
        self._private_socket_dir()
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
    """The cluster, running for the duration of the block: stopped on the way out only if this
    process started it (another process's cluster is used, never stopped)."""
    cluster = EmbeddedPostgres(data_dir, server_settings=server_settings)
    cluster.start()
    try:
        yield cluster
    finally:
        cluster.stop()


@contextlib.contextmanager
def _locked(path: Path) -> Iterator[None]:
    fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)


def _try_lock(path: Path) -> int | None:
    """`path` open and exclusively locked (its content emptied), or None when a live process holds it."""
    fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        os.close(fd)
        return None
    os.ftruncate(fd, 0)
    return fd


def _owner_pid(data_dir: Path) -> str:
    with contextlib.suppress(OSError):
        return (data_dir / "owner.lock").read_text().strip() or "unknown"
    return "unknown"


def _first_unreachable(path: Path, uid: int | None, gid: int | None) -> Path | None:
    """The first existing directory on the way to `path` that `uid` (with only `gid`) may not
    enter; None if there is none, or when the service does not switch users."""
    if uid is None or gid is None:
        return None
    for directory in reversed(path.parents):
        try:
            found = directory.stat()
        except FileNotFoundError:
            return None  # made by the service, as the cluster's user's
        if found.st_uid == uid:
            allowed = found.st_mode & stat.S_IXUSR
        elif found.st_gid == gid:
            allowed = found.st_mode & stat.S_IXGRP
        else:
            allowed = found.st_mode & stat.S_IXOTH
        if not allowed:
            return directory
    return None


def _shared_copy(install: Path) -> Path:
    """A copy of the server installation `install` in a root-owned directory anyone may read,
    made once per installation (its path and its server binary's time identify it).

    The wheel's binaries find their libraries through a relative RPATH
    (`$ORIGIN/../../../pgserver.libs`), so the copy keeps that layout: the package
    directory holding `install`, and its `.libs` sibling when there is one."""
    identity = f"{install}:{(install / 'bin' / 'postgres').stat().st_mtime_ns}"
    name = f"pginstall-{hashlib.sha256(identity.encode()).hexdigest()[:16]}"
    package = install.parent
    for base in _SHARED_INSTALLS:
        try:
            base.mkdir(mode=0o755, parents=True, exist_ok=True)
        except OSError:
            continue
        found = base.lstat()
        if not stat.S_ISDIR(found.st_mode) or found.st_uid != 0 or found.st_mode & 0o022:
            continue  # not root's alone: binaries there could have been replaced
        copy = base / name
        if not (copy / package.name / install.name / "bin" / "postgres").exists():
            staging = Path(tempfile.mkdtemp(prefix=f".{name}-", dir=base))
            shutil.copytree(install, staging / package.name / install.name, symlinks=True)
            libs = package.parent / f"{package.name}.libs"
            if libs.is_dir():
                shutil.copytree(libs, staging / libs.name, symlinks=True)
            for directory in (staging, staging / package.name):
                directory.chmod(0o755)
            os.replace(staging, copy)
        return copy / package.name / install.name
    raise EmbeddedPostgresError(
        f"the server binaries in {install} are not reachable by the embedded PostgreSQL's user and no "
        f"root-owned directory could take a copy ({', '.join(map(str, _SHARED_INSTALLS))}): set DATABASE_URL"
    )


def _ensure_system_user() -> str:
    try:
        pwd.getpwnam(_SYSTEM_USER)
    except KeyError:
        command = ["useradd", "--system", "--no-create-home", "--shell", "/usr/sbin/nologin", _SYSTEM_USER]
        subprocess.run(command, check=True, capture_output=True)  # noqa: S603 - fixed arguments
    return _SYSTEM_USER
