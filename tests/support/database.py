"""PostgreSQL for the tests: an embedded cluster (or TEST_DATABASE_URL), a migrated
template, and a fresh clone of it per test.

NOTIFY fires only on commit, so tests that go through the listener must commit
for real: each test gets its own database instead of a rolled-back transaction.
"""

from __future__ import annotations

import os
import shutil
import tempfile
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import psycopg
from psycopg import sql
from sqlalchemy.engine import make_url

from app.db.embedded import EmbeddedPostgres
from app.db.migrate import upgrade

TEMPLATE = "ops_bridge_template"

# Durability is not under test; speed is welcome.
FAST_SERVER = {
    "fsync": "off",
    "synchronous_commit": "off",
    "full_page_writes": "off",
    "max_connections": "400",
}


@dataclass
class PgServer:
    base_url: str
    cluster: EmbeddedPostgres | None

    def url(self, database: str) -> str:
        return make_url(self.base_url).set(database=database).render_as_string(hide_password=False)

    def admin(self) -> psycopg.Connection[tuple[object, ...]]:
        return psycopg.connect(self.url("postgres"), autocommit=True)

    def create_template(self) -> None:
        with self.admin() as conn:
            conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(TEMPLATE)))
            conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(TEMPLATE)))
        upgrade(self.url(TEMPLATE))

    @contextmanager
    def fresh_database(self) -> Iterator[str]:
        name = f"t_{uuid.uuid4().hex[:16]}"
        with self.admin() as conn:
            conn.execute(
                sql.SQL("CREATE DATABASE {} TEMPLATE {}").format(sql.Identifier(name), sql.Identifier(TEMPLATE))
            )
        try:
            yield self.url(name)
        finally:
            with self.admin() as conn:
                conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))


@contextmanager
def cluster_directory(purpose: str) -> Iterator[Path]:
    """A fresh directory for an embedded cluster (or a DATA_DIR), removed afterwards.

    Not under pytest's base directory: that is 0700, and under root the cluster
    runs as a user of its own, which the service does not let into directories
    it did not make. This one is made here, so opening it to traversal is ours to do."""
    path = Path(tempfile.mkdtemp(prefix=f"ops-bridge-test-{purpose}-"))
    path.chmod(0o711)
    try:
        yield path
    finally:
        shutil.rmtree(path, ignore_errors=True)


@contextmanager
def pg_server(tmp_root: Path) -> Iterator[PgServer]:
    external = os.environ.get("TEST_DATABASE_URL")
    if external:
        yield PgServer(external, None)
        return
    cluster = EmbeddedPostgres(tmp_root / "pg", server_settings=FAST_SERVER)
    cluster.start()
    try:
        yield PgServer(cluster.url(), cluster)
    finally:
        cluster.stop("immediate")
