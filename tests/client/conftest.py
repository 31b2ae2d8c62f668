from __future__ import annotations

from collections.abc import AsyncIterator

import pytest_asyncio
from playwright.async_api import Browser

from tests.support.browser import ClientPage, fresh_page, launched


@pytest_asyncio.fixture(loop_scope="module", scope="module")
async def browser() -> AsyncIterator[Browser]:
    """One Chromium for the module's tests (each gets a context of its own)."""
    async with launched() as chromium:
        yield chromium


@pytest_asyncio.fixture(loop_scope="module")
async def client_page(browser: Browser) -> AsyncIterator[ClientPage]:
    """A page in a fresh context, not yet pointed anywhere."""
    async with fresh_page(browser) as page:
        recorded = ClientPage(page, base="")
        yield recorded
        assert recorded.problems == [], "the page had errors or Content-Security-Policy violations"
