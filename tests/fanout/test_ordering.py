"""The event log's positions become visible in commit order."""

from __future__ import annotations

import asyncio
import random

import psycopg

from app.fanout import log

WRITERS = 8
TRANSACTIONS_PER_WRITER = 40


async def _writer(url: str, seed: int) -> None:
    rng = random.Random(seed)
    async with await psycopg.AsyncConnection.connect(url) as conn:
        for _ in range(TRANSACTIONS_PER_WRITER):
            async with conn.transaction():
                await conn.execute("INSERT INTO events (topic, action, message) VALUES ('task', 'updated', '{}')")
                # Keep the transaction open a little after its position is drawn,
                # so that without the lock others would draw later and commit earlier.
                await conn.execute("SELECT pg_sleep(%s)", [rng.random() * 0.004])


async def test_a_reader_of_everything_after_n_never_misses_an_event_that_commits_late(database_url: str) -> None:
    writers = asyncio.gather(*(_writer(database_url, seed) for seed in range(WRITERS)))
    seen: list[int] = []
    async with await psycopg.AsyncConnection.connect(database_url, autocommit=True) as reader:
        while True:
            done = writers.done()
            batch = await log.read_after(reader, seen[-1] if seen else 0, limit=1000)
            seen.extend(event.position for event in batch)
            if done and not batch:
                break
            await asyncio.sleep(0)
        await writers
        async with reader.cursor() as cursor:
            await cursor.execute("SELECT position FROM events ORDER BY position")
            committed = [row[0] for row in await cursor.fetchall()]

    assert len(committed) == WRITERS * TRANSACTIONS_PER_WRITER
    assert seen == committed


async def test_a_rolled_back_event_never_takes_a_position(database_url: str) -> None:
    async with await psycopg.AsyncConnection.connect(database_url) as conn:
        async with conn.transaction():
            await conn.execute("INSERT INTO events (topic, action, message) VALUES ('task', 'created', '{}')")
        try:
            async with conn.transaction():
                await conn.execute("INSERT INTO events (topic, action, message) VALUES ('task', 'created', '{}')")
                raise RuntimeError("abandon")
        except RuntimeError:
            pass
        async with conn.transaction():
            await conn.execute("INSERT INTO events (topic, action, message) VALUES ('task', 'created', '{}')")
        events = await log.read_after(conn, 0, limit=10)

    assert [event.position for event in events] == [1, 2]


async def test_a_position_a_writer_tries_to_choose_is_overridden_by_the_log(database_url: str) -> None:
    async with await psycopg.AsyncConnection.connect(database_url, autocommit=True) as conn:
        await conn.execute(
            "INSERT INTO events (position, topic, action, message) VALUES (999, 'task', 'created', '{}')"
        )
        events = await log.read_after(conn, 0, limit=10)

    assert [event.position for event in events] == [1]


async def test_a_writer_holding_its_transaction_open_does_not_block_other_writers(database_url: str) -> None:
    async with (
        await psycopg.AsyncConnection.connect(database_url) as slow,
        await psycopg.AsyncConnection.connect(database_url, autocommit=True) as other,
    ):
        await slow.execute("""INSERT INTO events (topic, action, message) VALUES ('task', 'created', '{"w":"slow"}')""")
        # The slow writer's event is inserted but uncommitted: another writer
        # commits straight past it, and readers see it in commit order.
        async with asyncio.timeout(5):
            await other.execute(
                """INSERT INTO events (topic, action, message) VALUES ('task', 'updated', '{"w":"other"}')"""
            )
        await slow.commit()
        events = await log.read_after(other, 0, limit=10)

    assert [(event.position, event.body) for event in events] == [
        (1, b'{"id":1,"w":"other"}'),
        (2, b'{"id":2,"w":"slow"}'),
    ]
