"""The write seam: every write transaction of the service opens here, on a pooled connection,
with its statements on the driver, and a database that cannot serve leaves as StoreUnavailable."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from app.db.driver import Statement, run
from app.db.engine import create_engine
from app.db.failures import kind_of
from app.errors import StoreUnavailable
from app.ingest.transaction import rehearsal, write
from app.jobs import Job, run_once
from tests.support.api import rows
from tests.support.server import free_port

_INSERT = "INSERT INTO notification_reads (reader, notification_id, read_at) SELECT %s, id, now() FROM notifications"
_NOTIFICATION = (
    "INSERT INTO notifications (id, title, message, type, priority, sent_by, created_at) "
    "VALUES ('n1', 't', 'm', 'info', 'normal', 'test', now())"
)


@pytest.fixture
async def engine(database_url: str) -> AsyncIterator[AsyncEngine]:
    engine = create_engine(database_url)
    rows(database_url, _NOTIFICATION + " RETURNING id")
    yield engine
    await engine.dispose()


@pytest.fixture
async def unreachable() -> AsyncIterator[AsyncEngine]:
    engine = create_engine(f"postgresql://ops:secret@127.0.0.1:{free_port()}/ops")
    yield engine
    await engine.dispose()


def _readers(database_url: str) -> list[str]:
    return [reader for (reader,) in rows(database_url, "SELECT reader FROM notification_reads ORDER BY reader")]


async def test_statements_on_the_seam_s_connection_commit_with_the_block(
    engine: AsyncEngine, database_url: str
) -> None:
    async with write(engine) as conn:
        await run(
            conn, [Statement(_INSERT, ("ana",)), Statement(_INSERT.replace("now()", "now() - interval '1s'"), ("bob",))]
        )

    assert _readers(database_url) == ["ana", "bob"]


async def test_a_block_that_raises_writes_nothing(engine: AsyncEngine, database_url: str) -> None:
    async def insert_then_fail() -> None:
        async with write(engine) as conn:
            await run(conn, [Statement(_INSERT, ("ana",))])
            raise RuntimeError

    with pytest.raises(RuntimeError):
        await insert_then_fail()

    assert _readers(database_url) == []


async def test_a_rehearsal_sees_its_own_writes_and_leaves_none(engine: AsyncEngine, database_url: str) -> None:
    async with rehearsal(engine) as conn:
        await run(conn, [Statement(_INSERT, ("ana",))])
        (seen,) = await run(conn, [Statement("SELECT count(*) FROM notification_reads")])

    assert seen == [(1,)]
    assert _readers(database_url) == []


async def test_an_unreachable_database_leaves_as_store_unavailable_logged_once_with_the_driver_s_error(
    unreachable: AsyncEngine, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.WARNING, "app.ingest.transaction"), pytest.raises(StoreUnavailable) as raised:
        async with write(unreachable):
            pass

    assert [r.getMessage() for r in caplog.records] == [f"database unavailable: {kind_of(raised.value)}"]
    # The log line names what the driver said, not the service's error it became.
    assert kind_of(raised.value).startswith("OperationalError")


async def test_a_job_tick_in_an_outage_is_left_to_the_runner_to_report(
    unreachable: AsyncEngine, caplog: pytest.LogCaptureFixture
) -> None:
    async def body(_conn: object) -> None:
        raise AssertionError("a tick that cannot connect runs nothing")

    with caplog.at_level(logging.WARNING), pytest.raises(StoreUnavailable):
        await run_once(unreachable, Job("outage", 1.0, body))

    assert caplog.records == []  # run_forever says it, once per outage
