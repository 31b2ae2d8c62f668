from __future__ import annotations

import uuid
from collections.abc import Iterator

import pytest
from psycopg import sql

from tests.support.database import PgServer


@pytest.fixture
def empty_database(postgres: PgServer) -> Iterator[str]:
    """A database with nothing in it, not even the migrations."""
    name = f"t_empty_{uuid.uuid4().hex[:12]}"
    with postgres.admin() as admin:
        admin.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    try:
        yield postgres.url(name)
    finally:
        with postgres.admin() as admin:
            admin.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))
