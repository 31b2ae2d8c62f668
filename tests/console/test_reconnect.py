"""The board when its server goes away: it says so, comes back by itself, and misses nothing."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from playwright.async_api import expect

from tests.conftest import JWT_SECRET, make_settings, token
from tests.support.browser import BoardPage, post_issue
from tests.support.server import server_in_thread, server_process

pytestmark = pytest.mark.asyncio(loop_scope="module")

# Back within the first backoff (3 s), or the second (6 s) on a busy machine.
_BACK_AFTER_RESTART = 20_000


async def test_a_killed_server_shows_reconnecting_and_the_board_catches_up_without_gap_or_double(
    browser_page: BoardPage, database_url: str, tmp_path: Path
) -> None:
    board = browser_page
    settings = make_settings(database_url, tmp_path)
    env = {"DATABASE_URL": database_url, "JWT_SECRET": JWT_SECRET}
    # Another server on the same database takes the webhooks while the board's server is down.
    with server_in_thread(settings) as other:
        with server_process(env) as first:
            board.base = first.http
            await board.open()
            await board.sign_in(token())
            await post_issue(first.http, 1)
            await expect(board.keys()).to_have_text(["OPS-1"])

            first.kill()
            await expect(board.state).to_have_text(re.compile(r"reconnecting in [123]s \(attempt 1 of 5\)"))
            for number in (2, 3):
                await post_issue(other.http, number, priority="Highest")

        with server_in_thread(settings, port=first.port) as second:
            await expect(board.state).to_have_text("live", timeout=_BACK_AFTER_RESTART)
            await expect(board.keys()).to_have_text(["OPS-2", "OPS-3", "OPS-1"])
            await post_issue(second.http, 4, priority="Low")
            await expect(board.keys()).to_have_text(["OPS-2", "OPS-3", "OPS-1", "OPS-4"])
            await expect(board.count("incidents")).to_have_text("4")

    assert re.search(r"/api/ws\?last_event_id=\d+$", board.sockets[-1])
    ids = board.event_ids()
    assert ids == sorted(set(ids)), "an event arrived twice or out of order"
