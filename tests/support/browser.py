"""A real headless Chromium (Debian's `chromium`), driven by Playwright, and the console page in it.

One browser per test module (`launched`), a fresh context (cookies, storage) per test: launching is
the slow part, a context is cheap. Playwright's own browser builds are never downloaded (`playwright install`
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
from playwright.async_api import Browser, BrowserContext, Locator, Page, WebSocket, async_playwright, expect

from tests.support.alerts import am_group
from tests.support.jira import issue_event

CHROMIUM = Path("/usr/bin/chromium")
INSTALL_HINT = "apt-get update && apt-get install -y --no-install-recommends chromium"

# Playwright adds --headless itself. The rest keeps the browser from reaching
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
async def launched() -> AsyncIterator[Browser]:
    """A headless Chromium, for the tests of one module."""
    executable = chromium_executable()
    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(executable_path=executable, headless=True, args=LAUNCH_ARGS)
        try:
            yield browser
        finally:
            await browser.close()


@asynccontextmanager
async def fresh_page(browser: Browser, *, width: int = 1280, height: int = 720) -> AsyncIterator[Page]:
    """A page in a context of its own: no cookie or storage from another test."""
    context: BrowserContext = await browser.new_context(viewport={"width": width, "height": height})
    try:
        yield await context.new_page()
    finally:
        await context.close()


@dataclass
class RecordedPage:
    """A page at `base` (http://host:port) and what happened on it."""

    page: Page
    base: str
    # Uncaught exceptions and Content-Security-Policy violations: a page that
    # works must have none.
    problems: list[str] = field(default_factory=list)
    # Every frame the page sent and received on its sockets, parsed, in order.
    sent: list[dict[str, Any]] = field(default_factory=list)
    received: list[dict[str, Any]] = field(default_factory=list)
    # The URL of every socket the page opened, refused ones included.
    sockets: list[str] = field(default_factory=list)

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

    def event_ids(self) -> list[int]:
        """The positions of the events the page's sockets received, in arrival order."""
        return [frame["id"] for frame in self.received if isinstance(frame.get("id"), int)]


@dataclass
class BoardPage(RecordedPage):
    """The board at /console, and what a test reads and does on it."""

    async def open(self, query: str = "") -> None:
        await self.page.goto(f"{self.base}/console{query}")

    async def sign_in(self, token: str) -> None:
        await self.page.locator("#token").fill(token)
        await self.page.get_by_role("button", name="sign in").click()
        await expect(self.state).to_have_text("live")

    @property
    def state(self) -> Locator:
        return self.page.locator("#connection-state")

    @property
    def incidents(self) -> Locator:
        return self.page.locator("#incident-list > li.card")

    @property
    def alerts(self) -> Locator:
        return self.page.locator("#alert-list > li.card")

    def card(self, kind: str, row_id: str) -> Locator:
        return self.page.locator(f"li.card[data-kind='{kind}'][data-id='{row_id}']")

    def keys(self) -> Locator:
        """The Jira keys of the incidents shown, in board order."""
        return self.page.locator("#incident-list > li.card .key")

    def count(self, tile: str, severity: str | None = None) -> Locator:
        """A tile's number (`incidents`, `alerts`, `sla`), or its count of one severity."""
        if severity is None:
            return self.page.locator(f"#tile-{tile} .value")
        return self.page.locator(f"#tile-{tile} .count[data-severity='{severity}']")

    async def narrow(
        self,
        *,
        severities: tuple[str, ...] = ("critical", "high", "medium", "low"),
        squad: str = "",
        environment: str = "",
        resolved: bool = True,
    ) -> None:
        for box in await self.page.locator("#severities input").all():
            await box.set_checked(await box.get_attribute("value") in severities)
        await self.page.locator("#filter-squad").fill(squad)
        await self.page.locator("#filter-environment").fill(environment)
        await self.page.get_by_label("resolved in the last hour").set_checked(resolved)
        await self.page.get_by_role("button", name="apply").click()


async def post_issue(base: str, number: int, **fields: Any) -> None:
    """A Jira delivery for issue `number`, accepted (the change is committed) before this returns."""
    await _post(base, "/api/webhooks/jira", issue_event(number, **fields))


async def post_alerts(base: str, *alerts: dict[str, Any]) -> None:
    """An Alertmanager delivery of `alerts` (tests.support.alerts.am_alert), accepted before this returns."""
    await _post(base, "/api/webhooks/alertmanager", am_group(*alerts))


async def _post(base: str, path: str, body: dict[str, Any]) -> None:
    async with httpx.AsyncClient(base_url=base, timeout=10) as client:
        response = await client.post(path, json=body)
    assert response.status_code == 200, response.text


# Starts the client in the page with `options` (ClientOptions; `tokens`: a list handed out one per
# call of the token function) and records what it reports in `window.record`.
_START_CLIENT = """async ({ moduleUrl, options }) => {
  const { OpsBridgeClient } = await import(moduleUrl);
  const record = { states: [], events: [], refetch: [], errors: [], acks: [], notifications: [] };
  const { tokens, ...rest } = options;
  if (tokens !== undefined) {
    let handed = 0;
    rest.token = () => tokens[Math.min(handed++, tokens.length - 1)];
  }
  if (options.storage === "localStorage") rest.storage = window.localStorage;
  const client = new OpsBridgeClient(rest);
  client.on("state", (state) => record.states.push(state));
  client.on("event", (message) => record.events.push(message));
  client.on("refetch", (signal) => record.refetch.push(signal));
  client.on("error", (error) => record.errors.push(error.code));
  client.on("notifications", (change) => record.notifications.push(change.unread));
  client.on("auth", (info) => record.acks.push(info));
  window.client = client;
  window.record = record;
  client.connect();
}"""


@dataclass
class ClientPage(RecordedPage):
    """A page running the frontend client served at /client/ops-bridge.js (from `module_base`)."""

    async def start(self, module_base: str, **options: Any) -> None:
        await self.page.evaluate(
            _START_CLIENT, {"moduleUrl": f"{module_base}/client/ops-bridge.js", "options": options}
        )

    async def record(self, name: str) -> Any:
        return await self.page.evaluate(f"() => window.record.{name}")

    async def status(self) -> str:
        return str(await self.page.evaluate("() => window.client.state.status"))

    async def wait_for(self, condition: str, timeout: float = 10_000) -> None:
        """Until the JavaScript expression `condition` (over `client` and `record`) holds."""
        await self.page.wait_for_function(
            f"() => {{ const client = window.client, record = window.record; return {condition}; }}", timeout=timeout
        )

    async def jira_ids(self) -> list[str]:
        return list(await self.page.evaluate("() => window.record.events.map((m) => m.data.jira_id)"))
