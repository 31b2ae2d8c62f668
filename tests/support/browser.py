"""A real headless Chromium (Debian's `chromium`), driven by Playwright, and the console page in it.

Playwright's own browser builds are never downloaded (`playwright install`
cannot reach its download host from here, nor from CI): it drives the system
browser through `executable_path`. `.ci/run` installs that browser when it is
missing; a machine without it fails the browser tests with a message saying how
to install it, rather than skipping them.
"""

from __future__ import annotations

import json
import shutil
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest
from playwright.async_api import BrowserContext, Locator, Page, WebSocket, async_playwright, expect

from tests.support.jira import issue_event

CHROMIUM = Path("/usr/bin/chromium")
INSTALL_HINT = "apt-get update && apt-get install -y --no-install-recommends chromium"

# Playwright adds --headless and --user-data-dir (a fresh directory per test:
# launch_persistent_context) itself. The rest keeps the browser from reaching
# out on its own (updates, sync, safe browsing lists) and from needing a GPU or
# the setuid sandbox, which a container running as root does not allow.
LAUNCH_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]

# Page conditions are awaited with Playwright's auto-retrying expectations; this
# bounds each one. Reconnecting waits out real backoff, so those pass their own.
expect.set_options(timeout=10_000)


def chromium_executable() -> Path:
    found = CHROMIUM if CHROMIUM.exists() else Path(shutil.which("chromium") or CHROMIUM)
    if not found.exists():
        pytest.fail(
            f"the browser tests need Debian's Chromium at {CHROMIUM}, and it is not installed: "
            f"run `{INSTALL_HINT}` as root (.ci/run does this on a fresh machine)",
            pytrace=False,
        )
    return found


@asynccontextmanager
async def chromium(profile: Path) -> AsyncIterator[BrowserContext]:
    executable = chromium_executable()
    async with async_playwright() as playwright:
        context = await playwright.chromium.launch_persistent_context(
            profile, executable_path=executable, headless=True, args=LAUNCH_ARGS
        )
        try:
            yield context
        finally:
            await context.close()


@dataclass
class ConsolePage:
    """The console at `base` (http://host:port), and what a test reads and does on it."""

    page: Page
    base: str
    # Uncaught exceptions and Content-Security-Policy violations: a page that
    # works must have none.
    problems: list[str] = field(default_factory=list)
    # Every frame the page sent and received on its sockets, parsed, in order.
    sent: list[dict[str, Any]] = field(default_factory=list)
    # The URL of every socket the page opened, refused ones included.
    sockets: list[str] = field(default_factory=list)
    received: list[dict[str, Any]] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.page.on("websocket", self._record)
        self.page.on("pageerror", lambda error: self.problems.append(f"uncaught: {error}"))
        self.page.on(
            "console",
            lambda message: self.problems.append(message.text) if "Content Security Policy" in message.text else None,
        )

    def _record(self, socket: WebSocket) -> None:
        self.sockets.append(socket.url)
        socket.on("framesent", lambda payload: self.sent.append(json.loads(payload)))
        socket.on("framereceived", lambda payload: self.received.append(json.loads(payload)))

    async def open(self) -> None:
        await self.page.goto(f"{self.base}/console")

    async def sign_in(self, token: str) -> None:
        await self.page.locator("#token").fill(token)
        await self.page.get_by_role("button", name="sign in").click()
        await expect(self.state).to_have_text("connected")

    @property
    def state(self) -> Locator:
        return self.page.locator("#connection-state")

    @property
    def events(self) -> Locator:
        return self.page.locator("#events > li")

    def field(self, name: str) -> Locator:
        """The values of one key field (jira_id, title, ...) in every listed event, newest first."""
        return self.page.locator(f"#events [data-field='{name}']")

    async def narrow(self, *, topics: list[str] | None = None, squad: str = "", environment: str = "") -> None:
        if topics is not None:
            for box in await self.page.locator("#topics input").all():
                await box.set_checked(await box.get_attribute("value") in topics)
        await self.page.locator("#filter-squad").fill(squad)
        await self.page.locator("#filter-environment").fill(environment)
        await self.page.get_by_role("button", name="apply").click()


async def post_issue(base: str, number: int, **fields: Any) -> None:
    """A Jira delivery for issue `number`, accepted (the change is committed) before this returns."""
    async with httpx.AsyncClient(base_url=base, timeout=10) as client:
        response = await client.post("/api/webhooks/jira", json=issue_event(number, **fields))
    assert response.status_code == 200, response.text
