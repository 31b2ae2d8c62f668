"""A log line that may repeat thousands of times a second in a storm, written at most once
per interval with how many were folded into it.

When a storm evicts a thousand slow subscribers in 50 ms, a WARNING each is a
thousand lines for the log pipeline to carry at the worst moment, and the
operator learns no more from the thousandth than from the first. The counter
(`ops_bridge_ws_dropped_total`) keeps the exact number; the log keeps the fact
and a count.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable


class ThrottledWarning:
    def __init__(
        self, logger: logging.Logger, interval: float = 1.0, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self._logger = logger
        self._interval = interval
        self._clock = clock
        self._next = float("-inf")
        self._folded = 0

    def __call__(self, message: str, *args: object) -> None:
        now = self._clock()
        if now < self._next:
            self._folded += 1
            return
        if self._folded:
            message += " (and %d more like it since the last such line)"
            args = (*args, self._folded)
        self._logger.warning(message, *args)
        self._next, self._folded = now + self._interval, 0
