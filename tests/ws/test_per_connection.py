"""The lean stand-ins for uvicorn's per-connection queue and event keep the semantics uvicorn relies on."""

from __future__ import annotations

import asyncio

from app.ws.per_connection import Flag, Inbox


async def test_the_inbox_hands_out_messages_in_order_and_wakes_a_waiting_reader() -> None:
    inbox = Inbox()
    waiting = asyncio.create_task(inbox.get())
    await asyncio.sleep(0)  # the reader is parked on an empty inbox

    inbox.put_nowait("first")
    inbox.put_nowait("second")

    assert await waiting == "first"
    assert inbox.qsize() == 1
    assert await inbox.get() == "second"
    assert inbox.empty()


async def test_the_flag_wakes_every_waiter_when_set_and_blocks_again_once_cleared() -> None:
    flag = Flag()
    waiters = [asyncio.create_task(flag.wait()) for _ in range(3)]
    await asyncio.sleep(0)
    assert not any(waiter.done() for waiter in waiters)

    flag.set()

    assert await asyncio.gather(*waiters) == [True, True, True]
    flag.clear()
    blocked = asyncio.create_task(flag.wait())
    await asyncio.sleep(0)
    assert not blocked.done()
    flag.set()
    assert await blocked is True


async def test_a_cancelled_waiter_leaves_the_flag_clean() -> None:
    flag = Flag()
    waiter = asyncio.create_task(flag.wait())
    await asyncio.sleep(0)
    waiter.cancel()
    await asyncio.gather(waiter, return_exceptions=True)

    flag.set()

    assert flag.is_set()
