"""A storm's repeated warning is one line per interval, with the count of what it folded."""

from __future__ import annotations

import logging

import pytest

from app.observability.throttled import ThrottledWarning


def test_a_burst_is_one_line_and_the_next_interval_says_how_many_it_folded(caplog: pytest.LogCaptureFixture) -> None:
    now = [100.0]
    warn = ThrottledWarning(logging.getLogger("storm"), interval=1.0, clock=lambda: now[0])

    with caplog.at_level(logging.WARNING, logger="storm"):
        for _ in range(1000):
            warn("closing a slow consumer: more than %d bytes unsent", 1024)
        now[0] += 1.0
        warn("closing a slow consumer: more than %d bytes unsent", 1024)

    assert [record.getMessage() for record in caplog.records] == [
        "closing a slow consumer: more than 1024 bytes unsent",
        "closing a slow consumer: more than 1024 bytes unsent (and 999 more like it since the last such line)",
    ]
