"""Awaiting a log record from the service under test (it runs in a thread of this
process, so its records pass through this process's loggers)."""

from __future__ import annotations

import asyncio
import logging
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager


class _Watch(logging.Handler):
    def __init__(self, wanted: Callable[[str], bool]) -> None:
        super().__init__(logging.DEBUG)
        self._wanted = wanted
        self.seen = threading.Event()
        self.messages: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        message = record.getMessage()
        self.messages.append(message)
        if self._wanted(message):
            self.seen.set()

    async def wait(self, timeout: float = 30.0) -> None:
        """Until a wanted record was logged; fails the test after `timeout` seconds."""
        if not await asyncio.to_thread(self.seen.wait, timeout):
            raise AssertionError(f"no such log record within {timeout}s; saw {self.messages[-5:]}")


@contextmanager
def watching(logger: str, wanted: Callable[[str], bool]) -> Iterator[_Watch]:
    """Records of `logger` (at any level), and an awaitable for the first one `wanted` accepts."""
    target = logging.getLogger(logger)
    watch = _Watch(wanted)
    level = target.level
    target.addHandler(watch)
    target.setLevel(logging.DEBUG)
    try:
        yield watch
    finally:
        target.removeHandler(watch)
        target.setLevel(level)
