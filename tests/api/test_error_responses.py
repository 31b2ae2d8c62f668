"""The one mapping from errors to HTTP answers (app/api/error_responses.py), for FastAPI's handlers and
the webhook lane alike; driver errors reach it through app/db/failures.py."""

from __future__ import annotations

from pathlib import Path

import psycopg
import psycopg.errors
import pytest
import sqlalchemy.exc

from app.api.error_responses import response_for
from app.db.failures import DRIVER_ERRORS
from app.errors import RateLimited, Unauthenticated
from app.factory import create_app
from tests.conftest import make_settings


@pytest.mark.parametrize(
    "error",
    [
        psycopg.OperationalError("connection to server failed: secret-host"),
        psycopg.InterfaceError("the connection is closed"),
        sqlalchemy.exc.OperationalError("SELECT 1", {}, Exception("secret-host")),
        sqlalchemy.exc.TimeoutError("QueuePool limit reached"),
        ConnectionRefusedError("secret-host"),
        TimeoutError(),
        psycopg.errors.ReadOnlySqlTransaction("cannot execute INSERT in a read-only transaction"),
        sqlalchemy.exc.InternalError("INSERT", {}, psycopg.errors.ReadOnlySqlTransaction("read-only")),
        psycopg.errors.AdminShutdown("terminating connection due to administrator command"),
        psycopg.errors.TooManyConnections("sorry, too many clients already"),
        sqlalchemy.exc.DBAPIError("SELECT 1", {}, Exception("server closed"), connection_invalidated=True),
    ],
    ids=lambda error: f"{type(error).__module__}.{type(error).__name__}",
)
def test_the_database_out_of_reach_is_a_503_with_retry_after_that_names_nothing_of_it(error: Exception) -> None:
    response = response_for(error)

    assert response is not None
    assert response.status_code == 503
    assert response.headers["retry-after"] == "5"
    assert bytes(response.body) == (
        b'{"error":{"code":"DATABASE_UNAVAILABLE","message":"the database is unavailable; retry later"}}'
    )


def test_service_errors_keep_their_status_and_challenge_headers() -> None:
    unauthenticated = response_for(Unauthenticated("who are you"))
    limited = response_for(RateLimited("slow down", retry_after=0.2))

    assert unauthenticated is not None
    assert limited is not None
    assert (unauthenticated.status_code, unauthenticated.headers["www-authenticate"]) == (401, "Bearer")
    assert (limited.status_code, limited.headers["retry-after"]) == (429, "1")


@pytest.mark.parametrize(
    "error",
    [
        RuntimeError("a bug"),
        sqlalchemy.exc.ProgrammingError("SELECT 1", {}, Exception("secret")),
        KeyError("x"),
        psycopg.errors.UniqueViolation("duplicate key"),
        sqlalchemy.exc.IntegrityError("INSERT", {}, psycopg.errors.NotNullViolation("null value")),
    ],
    ids=lambda error: type(error).__name__,
)
def test_an_unexpected_error_has_no_answer_of_its_own(error: Exception) -> None:
    assert response_for(error) is None


def test_the_application_hands_every_driver_error_to_the_mapping(tmp_path: Path) -> None:
    app = create_app(make_settings("postgresql://unused@127.0.0.1/unused", tmp_path))

    assert set(DRIVER_ERRORS) <= set(app.exception_handlers)
