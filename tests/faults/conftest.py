from __future__ import annotations

import pytest

from tests.support.faults import HEADER, Tally

TALLIES: list[Tally] = []


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    if not TALLIES:
        return
    terminalreporter.section("delivery under faults (every subscriber, every event)")
    terminalreporter.write_line(HEADER)
    for tally in TALLIES:
        terminalreporter.write_line(tally.row())
