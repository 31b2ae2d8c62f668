"""A database the commands cannot use, said in one line: which setting, what is wrong, the fix.

`serve`, `migrate`, `reprocess` and `deliveries` meet an unreachable server, a
refused login or an embedded cluster that would not start as an exception from
deep in the driver or alembic; an operator should see what to change instead
(app/cli.py prints a ConfigError as one line and exits 2). Anything else is
left to propagate: a traceback is for bugs.
"""

from __future__ import annotations

import contextlib
import re
from collections.abc import Iterator
from pathlib import Path

import psycopg
import sqlalchemy.exc
from sqlalchemy.engine import make_url

from app.config import ConfigError, Settings
from app.db.embedded import EmbeddedPostgresError
from app.errors import StoreUnavailable

_UNREACHABLE = (sqlalchemy.exc.OperationalError, sqlalchemy.exc.InterfaceError, psycopg.OperationalError)
# libpq says what failed after the last "failed: " of a line ("...port 5432 failed: Connection refused").
_REASON = re.compile(r"^.*failed: (?:FATAL:\s*)?(.+)$")
# A password shorter than this is not looked for in the driver's words (it would blank out letters).
_MIN_HIDDEN = 4


@contextlib.contextmanager
def plain_problems(settings: Settings | None = None) -> Iterator[None]:
    """Turn a database that cannot be reached or started into a ConfigError that says so."""
    try:
        yield
    except _UNREACHABLE as exc:
        raise ConfigError(_unreachable(exc, settings)) from None
    except StoreUnavailable as exc:
        # A write's transaction meets the outage as the service's error (app/ingest/transaction.py).
        if not isinstance(exc.__cause__, _UNREACHABLE):
            raise
        raise ConfigError(_unreachable(exc.__cause__, settings)) from None
    except EmbeddedPostgresError as exc:
        raise ConfigError(_embedded(exc, settings)) from None
    except OSError as exc:
        if settings is None or not _under(exc.filename, settings.data_dir):
            raise
        raise ConfigError(
            f"DATA_DIR={settings.data_dir}: cannot use {exc.filename} ({exc.strerror}); "
            "point DATA_DIR at a directory this user can write"
        ) from None


def _under(filename: object, directory: Path) -> bool:
    return isinstance(filename, str | Path) and Path(filename).is_relative_to(directory)


def _unreachable(exc: Exception, settings: Settings | None) -> str:
    settings = settings or _plain_settings()
    url = settings.database_url if settings is not None else None
    where = f" at {make_url(url).render_as_string(hide_password=True)}" if url else ""
    reason = _reason(exc)
    password = make_url(url).password if url else None
    if password and len(password) >= _MIN_HIDDEN:
        reason = reason.replace(password, "***")
    return f"DATABASE_URL: cannot use the database{where}: {reason}; {_fix(reason, embedded=not url)}"


def _plain_settings() -> Settings | None:
    """The settings as read from the environment, for a command that read them itself."""
    try:
        return Settings()
    except ValueError:  # pydantic's ValidationError: the command would have said so first
        return None


def _reason(exc: Exception) -> str:
    original = getattr(exc, "orig", None) or exc
    lines = [line.strip() for line in str(original).splitlines() if line.strip()]
    for line in lines:
        found = _REASON.search(line)
        if found:
            return found.group(1).strip()
    return lines[0] if lines else type(original).__name__


def _fix(reason: str, *, embedded: bool) -> str:
    lowered = reason.lower()
    if "password" in lowered or "authentication" in lowered:
        return "correct the user name or password in DATABASE_URL"
    if lowered.startswith("role") and "does not exist" in lowered:
        return "correct the user name in DATABASE_URL (or create that role)"
    if "does not exist" in lowered:
        return "create that database (createdb) or correct its name in DATABASE_URL"
    if embedded:
        return "the embedded PostgreSQL under DATA_DIR did not answer; stop whatever else uses DATA_DIR, or set it"
    return (
        "check that PostgreSQL runs there and accepts connections, or correct DATABASE_URL "
        "(unset in development, an embedded PostgreSQL is started under DATA_DIR)"
    )


def _embedded(exc: EmbeddedPostgresError, settings: Settings | None) -> str:
    first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    settings = settings or _plain_settings()
    where = f" under {settings.data_dir / 'postgres'}" if settings is not None else ""
    return (
        f"DATABASE_URL is not set and the embedded PostgreSQL{where} could not be used: {first}; "
        "see postgres.log there, or set DATABASE_URL to a PostgreSQL server"
    )
