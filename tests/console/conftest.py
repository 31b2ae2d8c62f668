from __future__ import annotations

from collections.abc import AsyncIterator

import pytest_asyncio
from playwright.async_api import Browser

from tests.support.browser import BoardPage, fresh_page, launched
from tests.support.server import RunningServer


@pytest_asyncio.fixture(loop_scope="module", scope="module")
async def browser() -> AsyncIterator[Browser]:
    """One Chromium for the module's tests (each gets a context of its own)."""
    async with launched() as chromium:
        yield chromium


@pytest_asyncio.fixture(loop_scope="module")
async def browser_page(browser: Browser) -> AsyncIterator[BoardPage]:
    """A page in a fresh context, not yet pointed anywhere (`base` is set by the test)."""
    async with fresh_page(browser) as page:
        board = BoardPage(page, base="")
        yield board
        assert board.problems == [], "the page had errors or Content-Security-Policy violations"


@pytest_asyncio.fixture(loop_scope="module")
async def board(browser_page: BoardPage, server: RunningServer) -> BoardPage:
    """The board of the in-thread `server`, opened."""
    browser_page.base = server.http
    await browser_page.open()
    return browser_page
