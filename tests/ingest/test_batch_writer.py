"""Group commit: deliveries arriving together share one transaction, behave
exactly as if written one by one, and one bad delivery spoils only itself."""

from __future__ import annotations

import asyncio
import functools
from collections.abc import Sequence
from datetime import datetime

import psycopg
import pytest

from app.clock import utcnow
from app.db import driver
from app.db.driver import Rows, Statement
from app.errors import StoreUnavailable
from app.ingest.batch_writer import BatchWriter, Connect
from app.store.deliveries import Received
from app.store.issues import ISSUE_WRITER
from app.store.set_writer import Plan, Reads
from tests.support.jira import issue_event


@pytest.fixture
def connect(database_url: str) -> Connect:
    return functools.partial(driver.connect, database_url)


def _change(number: int, **overrides: object) -> object:
    from app.adapters.jira.mapping import JiraMapping
    from app.adapters.jira.webhook import parse_delivery

    return parse_delivery(issue_event(number, **overrides), JiraMapping(), received_at=utcnow())  # type: ignore[arg-type]


def _received(key: str | None) -> Received:
    return Received(delivery_key=key, headers={}, body=b"{}")


class Recording:
    """The Jira set writer, noting the size of every batch it plans."""

    def __init__(self, fail_on: str | None = None, refused_on: str | None = None) -> None:
        self.batches: list[int] = []
        self.fail_on = fail_on
        self.refused_on = refused_on

    def reads(self, changes: Sequence[object]) -> Reads:
        return ISSUE_WRITER.reads(changes)  # type: ignore[arg-type]

    def plan(self, changes: Sequence[object], loaded: Rows, now: datetime) -> Plan:
        self.batches.append(len(changes))
        if self.fail_on is not None and any(self.fail_on in repr(change) for change in changes):
            raise ValueError("a delivery the store cannot take")
        plan = ISSUE_WRITER.plan(changes, loaded, now)  # type: ignore[arg-type]
        if self.refused_on is not None and any(self.refused_on in repr(change) for change in changes):
            # A write the database refuses, after the others of its message.
            plan.writes.append(Statement("SELECT 1 / 0"))
        return plan


async def test_deliveries_queued_together_are_written_in_one_transaction(connect: Connect, database_url: str) -> None:
    apply = Recording()
    writer: BatchWriter[object] = BatchWriter(connect, "jira", apply)
    try:
        results = await asyncio.gather(*(writer.write(_received(f"k-{n}"), _change(n), utcnow()) for n in range(10)))
    finally:
        await writer.stop()

    assert results == [1] * 10
    assert apply.batches == [10]
    with psycopg.connect(database_url) as conn:
        assert conn.execute("SELECT count(*), count(DISTINCT position) FROM events").fetchone() == (10, 10)
        assert conn.execute("SELECT count(*) FROM webhook_deliveries WHERE outcome = 'applied'").fetchone() == (10,)


async def test_a_redelivery_in_the_same_batch_or_a_later_one_is_not_applied(
    connect: Connect, database_url: str
) -> None:
    writer: BatchWriter[object] = BatchWriter(connect, "jira", Recording())
    try:
        first = await asyncio.gather(
            writer.write(_received("same"), _change(1), utcnow()),
            writer.write(_received("same"), _change(1, summary="the retry differs"), utcnow()),
            writer.write(_received(None), _change(2), utcnow()),
        )
        later = await writer.write(_received("same"), _change(1, summary="later still"), utcnow())
    finally:
        await writer.stop()

    assert list(first) == [1, None, 1]
    assert later is None
    with psycopg.connect(database_url) as conn:
        assert conn.execute("SELECT title FROM incidents ORDER BY jira_key").fetchall() == [
            ("Issue number 1",),
            ("Issue number 2",),
        ]
        assert conn.execute("SELECT count(*) FROM webhook_deliveries").fetchone() == (2,)


async def test_an_unchanged_delivery_is_recorded_as_unchanged(connect: Connect, database_url: str) -> None:
    writer: BatchWriter[object] = BatchWriter(connect, "jira", Recording())
    try:
        results = await asyncio.gather(
            writer.write(_received("a"), _change(1), utcnow()),
            writer.write(_received("b"), _change(1), utcnow()),
            writer.write(_received(None), _change(1), utcnow()),
        )
    finally:
        await writer.stop()

    assert list(results) == [1, 0, 0]
    with psycopg.connect(database_url) as conn:
        outcomes = conn.execute("SELECT delivery_key, outcome FROM webhook_deliveries ORDER BY id").fetchall()
    assert sorted(outcomes, key=str) == sorted([("a", "applied"), ("b", "unchanged"), (None, "unchanged")], key=str)


async def test_one_bad_delivery_fails_alone_and_the_others_are_stored(connect: Connect, database_url: str) -> None:
    apply = Recording(fail_on="OPS-3")
    writer: BatchWriter[object] = BatchWriter(connect, "jira", apply)
    try:
        outcomes = await asyncio.gather(
            *(writer.write(_received(f"k-{n}"), _change(n), utcnow()) for n in range(1, 6)), return_exceptions=True
        )
    finally:
        await writer.stop()

    assert outcomes[:2] == [1, 1]
    assert isinstance(outcomes[2], ValueError)
    assert outcomes[3:] == [1, 1]
    assert apply.batches == [5, 1, 1, 1, 1, 1]
    with psycopg.connect(database_url) as conn:
        assert conn.execute("SELECT count(*) FROM incidents").fetchone() == (4,)
        assert conn.execute("SELECT count(*) FROM webhook_deliveries").fetchone() == (4,)


async def test_an_unreachable_database_answers_every_delivery_of_the_batch_with_unavailable() -> None:
    connect = functools.partial(driver.connect, "postgresql://nobody@127.0.0.1:1/nothing")
    writer: BatchWriter[object] = BatchWriter(connect, "jira", Recording())
    try:
        outcomes = await asyncio.gather(
            *(writer.write(_received(f"k-{n}"), _change(n), utcnow()) for n in range(3)), return_exceptions=True
        )
    finally:
        await writer.stop()

    assert all(isinstance(outcome, StoreUnavailable) for outcome in outcomes)


async def test_a_lost_connection_fails_its_batch_as_unavailable_and_the_next_batch_reconnects(
    connect: Connect, database_url: str
) -> None:
    writer: BatchWriter[object] = BatchWriter(connect, "jira", Recording())
    try:
        assert await writer.write(_received("before"), _change(1), utcnow()) == 1
        with psycopg.connect(database_url, autocommit=True) as admin:
            killed = admin.execute(
                "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
                "WHERE application_name = 'ops-bridge' AND pid <> pg_backend_pid()"
            ).fetchone()
        assert killed == (1,)
        with pytest.raises(StoreUnavailable):
            await writer.write(_received("during"), _change(2), utcnow())
        assert await writer.write(_received("after"), _change(3), utcnow()) == 1
    finally:
        await writer.stop()

    with psycopg.connect(database_url) as conn:
        keys = conn.execute("SELECT delivery_key FROM webhook_deliveries ORDER BY id").fetchall()
    assert keys == [("before",), ("after",)]


async def test_a_write_the_database_refuses_fails_its_delivery_alone_and_the_connection_carries_on(
    connect: Connect, database_url: str
) -> None:
    apply = Recording(refused_on="OPS-2")
    writer: BatchWriter[object] = BatchWriter(connect, "jira", apply)
    try:
        outcomes = await asyncio.gather(
            *(writer.write(_received(f"k-{n}"), _change(n), utcnow()) for n in range(1, 4)), return_exceptions=True
        )
        after = await writer.write(_received("k-4"), _change(4), utcnow())
    finally:
        await writer.stop()

    assert outcomes[0] == 1
    assert isinstance(outcomes[1], psycopg.errors.DivisionByZero)
    assert outcomes[2] == 1
    assert after == 1
    with psycopg.connect(database_url) as conn:
        keys = conn.execute("SELECT delivery_key FROM webhook_deliveries ORDER BY delivery_key").fetchall()
        events = conn.execute("SELECT count(*) FROM events").fetchone()
    assert keys == [("k-1",), ("k-3",), ("k-4",)]
    assert events == (3,)
