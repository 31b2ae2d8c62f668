from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from tests.support.browser import ConsolePage, chromium
from tests.support.server import RunningServer


@pytest.fixture
async def browser_page(tmp_path: Path) -> AsyncIterator[ConsolePage]:
    """A page in a fresh Chromium profile, not yet pointed anywhere (`base` is set by the test)."""
    async with chromium(tmp_path / "chromium-profile") as context:
        page = context.pages[0] if context.pages else await context.new_page()
        console = ConsolePage(page, base="")
        yield console
        assert console.problems == [], "the page had errors or Content-Security-Policy violations"


@pytest.fixture
async def console(browser_page: ConsolePage, server: RunningServer) -> ConsolePage:
    """The console of the in-thread `server`, opened."""
    browser_page.base = server.http
    await browser_page.open()
    return browser_page
