"""Statements on the driver: a savepoint undoes its own block and nothing before it."""

from __future__ import annotations

import pytest

from app.db import driver
from app.db.driver import Statement, run, savepoint
from tests.support.api import rows

_READ = "INSERT INTO notification_reads (reader, notification_id, read_at) VALUES (%s, 'n1', now())"


async def _mark_then_fail(conn: driver.PgConnection, reader: str) -> None:
    async with savepoint(conn):
        await run(conn, [Statement(_READ, (reader,))])
        raise ValueError(reader)


async def test_a_savepoint_undoes_its_block_and_the_transaction_goes_on(database_url: str) -> None:
    rows(
        database_url,
        "INSERT INTO notifications (id, title, message, type, priority, sent_by, created_at) "
        "VALUES ('n1', 't', 'm', 'info', 'normal', 'test', now()) RETURNING id",
    )
    conn = await driver.connect(database_url)
    async with conn, conn.transaction():
        await run(conn, [Statement(_READ, ("ana",))])
        with pytest.raises(ValueError, match="bob"):
            await _mark_then_fail(conn, "bob")
        with pytest.raises(ValueError, match="cy"):
            await _mark_then_fail(conn, "cy")
        async with savepoint(conn):
            await run(conn, [Statement(_READ, ("dee",))])

    assert rows(database_url, "SELECT reader FROM notification_reads ORDER BY reader") == [("ana",), ("dee",)]
