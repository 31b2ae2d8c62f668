"""The one seam where the database driver's errors become the service's.

A database that cannot serve now becomes `StoreUnavailable` here, in
`unavailable()`, whichever way it was said (SQLAlchemy's wrappers, psycopg's
own errors from statements run on its connections directly, the pool's
timeout, a socket error) and whatever the cause (unreachable, restarting, out
of connections, or read-only: a hot standby, or a primary during failover).
HTTP answers it 503 with Retry-After, so a sender retries instead of dropping
the delivery; the socket answers UNAVAILABLE. Everything else the driver
raises is either a collision a caller handles (`sqlstate`, `constraint`) or
unexpected.
"""

from __future__ import annotations

import psycopg
from sqlalchemy.exc import DBAPIError, InterfaceError, OperationalError, SQLAlchemyError
from sqlalchemy.exc import TimeoutError as PoolTimeoutError

from app.errors import StoreUnavailable

# SQLSTATE classes and codes that say "not now" rather than "never": connection
# exceptions (08), insufficient resources (53: too many connections, disk
# full), operator intervention (57P: shutdown, restart, cannot connect now),
# and a read-only transaction (25006: a hot standby, or a primary being failed
# over). psycopg files most of them under OperationalError; not 25006.
_UNAVAILABLE_CLASSES = ("08", "53", "57P")
_READ_ONLY = "25006"

UNIQUE_VIOLATION = "23505"

# Reads through SQLAlchemy (and a write transaction's connect and COMMIT,
# which SQLAlchemy's connection sends) raise its wrappers; statements run on
# the driver connection (app/db/driver.py) raise psycopg's own errors.
DatabaseError = DBAPIError | psycopg.Error
DATABASE_ERRORS = (DBAPIError, psycopg.Error)  # the same, for `except`

# Where `unavailable()` may find an answer (the web layer installs a handler per class).
DRIVER_ERRORS: tuple[type[Exception], ...] = (SQLAlchemyError, psycopg.Error, OSError)


def unavailable(error: BaseException) -> StoreUnavailable | None:
    """The service's error for a database that cannot serve now, or None when `error` says
    something else (a bug, a constraint the caller handles): the one place driver errors
    become the service's."""
    if isinstance(error, StoreUnavailable):
        return error
    cause = _cause(error)
    state = getattr(cause, "sqlstate", None)
    if (
        (isinstance(error, DBAPIError) and error.connection_invalidated)
        or isinstance(error, OperationalError | InterfaceError)  # SQLAlchemy's names for psycopg's
        or isinstance(cause, PoolTimeoutError | OSError | psycopg.OperationalError | psycopg.InterfaceError)
        or (isinstance(state, str) and (state == _READ_ONLY or state.startswith(_UNAVAILABLE_CLASSES)))
    ):
        return StoreUnavailable("the database is unavailable; retry later")
    return None


def kind_of(error: BaseException) -> str:
    """What went wrong, for a log line: the driver error's class and SQLSTATE, never its
    message (which may name hosts and users). For a `StoreUnavailable` mapped from one,
    the driver error it was raised from."""
    if isinstance(error, StoreUnavailable) and error.__cause__ is not None:
        error = error.__cause__
    cause = _cause(error)
    state = getattr(cause, "sqlstate", None)
    return type(cause).__name__ + (f" ({state})" if isinstance(state, str) else "")


def _cause(error: BaseException) -> BaseException:
    """psycopg's error under SQLAlchemy's wrapper, or the error itself."""
    return error.orig if isinstance(error, DBAPIError) and isinstance(error.orig, BaseException) else error


def sqlstate(error: DatabaseError) -> str | None:
    state = getattr(_cause(error), "sqlstate", None)
    return state if isinstance(state, str) else None


def constraint(error: DatabaseError) -> str | None:
    diag = getattr(_cause(error), "diag", None)
    name = getattr(diag, "constraint_name", None)
    return name if isinstance(name, str) else None
