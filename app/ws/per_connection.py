"""Leaner stand-ins for two objects uvicorn makes per WebSocket connection.

An idle connection should cost little: ten thousand screens on one process is
a target (docs/performance.md). uvicorn gives each connection an
`asyncio.Queue` for received messages (three deques and an Event, about
2.5 KiB) and an `asyncio.Event` for writability (a deque, about 0.7 KiB), and
nearly all of them sit empty for hours. These keep the interfaces uvicorn uses
and allocate only while someone waits.
"""

from __future__ import annotations

import asyncio
from typing import Any


class Inbox:
    """uvicorn's receive queue: one consumer (the application's `receive`)."""

    __slots__ = ("_items", "_waiter")

    def __init__(self) -> None:
        self._items: list[Any] = []
        self._waiter: asyncio.Future[None] | None = None

    def put_nowait(self, item: Any) -> None:
        self._items.append(item)
        waiter = self._waiter
        if waiter is not None and not waiter.done():
            waiter.set_result(None)

    async def get(self) -> Any:
        while not self._items:
            self._waiter = asyncio.get_running_loop().create_future()
            try:
                await self._waiter
            finally:
                self._waiter = None
        return self._items.pop(0)  # a handful at most: reading pauses while the application is behind

    def empty(self) -> bool:
        return not self._items

    def qsize(self) -> int:
        return len(self._items)


class Flag:
    """`asyncio.Event`'s interface, without its deque until someone waits."""

    __slots__ = ("_set", "_waiters")

    def __init__(self) -> None:
        self._set = False
        self._waiters: list[asyncio.Future[bool]] | None = None

    def is_set(self) -> bool:
        return self._set

    def set(self) -> None:
        if self._set:
            return
        self._set = True
        waiters, self._waiters = self._waiters, None
        for waiter in waiters or ():
            if not waiter.done():
                waiter.set_result(True)

    def clear(self) -> None:
        self._set = False

    async def wait(self) -> bool:
        if self._set:
            return True
        waiter: asyncio.Future[bool] = asyncio.get_running_loop().create_future()
        if self._waiters is None:
            self._waiters = []
        self._waiters.append(waiter)
        try:
            return await waiter
        finally:
            self._forget(waiter)

    def _forget(self, waiter: asyncio.Future[bool]) -> None:
        if self._waiters is not None and waiter in self._waiters:
            self._waiters.remove(waiter)
