"""The database an operator command works on: DATABASE_URL, or the embedded
development cluster, used as it is (never stopped) when the service already runs it."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

from app.config import Settings
from app.db import embedded


@contextlib.contextmanager
def command_database(settings: Settings) -> Iterator[str]:
    """DATABASE_URL; else the embedded cluster under DATA_DIR, started for the command
    and stopped after it unless it was already running (a service is using it)."""
    if settings.database_url is not None:
        yield settings.database_url
        return
    with embedded.running(settings.data_dir / "postgres") as cluster:
        yield cluster.url()
