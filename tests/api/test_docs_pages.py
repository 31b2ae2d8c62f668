"""/docs and /redoc in a real headless Chromium that can reach nothing but the service: both
render the API from files the service serves itself, under their Content-Security-Policy."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest
import pytest_asyncio
from playwright.async_api import Browser, Page, Route, expect

from tests.support.browser import fresh_page, launched
from tests.support.server import RunningServer

pytestmark = pytest.mark.asyncio(loop_scope="module")


@pytest_asyncio.fixture(loop_scope="module", scope="module")
async def browser() -> AsyncIterator[Browser]:
    """One Chromium for the module's tests (each gets a context of its own)."""
    async with launched() as chromium:
        yield chromium


@pytest_asyncio.fixture(loop_scope="module")
async def offline(browser: Browser) -> AsyncIterator[Page]:
    async with fresh_page(browser) as page:
        yield page


async def _open(page: Page, url: str, origin: str) -> tuple[Page, list[str], list[str]]:
    """The page at `url`, every request for another origin refused and noted, and its errors."""
    elsewhere: list[str] = []
    problems: list[str] = []

    async def only_the_service(route: Route) -> None:
        if route.request.url.startswith(origin + "/") or route.request.url.startswith(("data:", "blob:")):
            await route.continue_()
        else:
            elsewhere.append(route.request.url)
            await route.abort("internetdisconnected")

    await page.route("**/*", only_the_service)
    page.on("pageerror", lambda error: problems.append(f"uncaught: {error}"))
    page.on("console", lambda message: problems.append(message.text) if message.type == "error" else None)
    await page.goto(url)
    return page, elsewhere, problems


async def test_swagger_ui_renders_every_operation_without_the_internet(server: RunningServer, offline: Page) -> None:
    page, elsewhere, problems = await _open(offline, f"{server.http}/docs", server.http)

    await expect(page.locator(".opblock-summary-path", has_text="/api/webhooks/jira").first).to_be_visible(
        timeout=30_000
    )
    await expect(page.locator(".info .title")).to_contain_text("Ops Bridge")
    assert elsewhere == []
    assert problems == []


async def test_redoc_renders_the_api_without_the_internet(server: RunningServer, offline: Page) -> None:
    page, elsewhere, problems = await _open(offline, f"{server.http}/redoc", server.http)

    await expect(page.locator("h1", has_text="Ops Bridge")).to_be_visible(timeout=30_000)  # ReDoc renders slowly
    await expect(page.get_by_text("/api/webhooks/jira").first).to_be_attached()
    assert elsewhere == []
    # ReDoc's menu footer always asks for Redocly's logo from their CDN; the policy blocks it (the
    # footer then shows the text alone), and that refusal is the only message the page may log.
    blocked_logo = [p for p in problems if "cdn.redoc.ly/redoc/logo-mini.svg" in p and "blocked" in p]
    assert [p for p in problems if p not in blocked_logo] == []


@pytest.mark.parametrize("path", ["/docs", "/redoc"])
async def test_the_docs_pages_allow_scripts_and_connections_only_from_the_service(
    server: RunningServer, path: str
) -> None:
    async with httpx.AsyncClient(base_url=server.http) as http:
        page = await http.get(path)
        bundle = await http.get(
            "/docs/static/swagger-ui-bundle.js" if path == "/docs" else "/docs/static/redoc.standalone.js"
        )

    policy = dict(item.strip().split(" ", 1) for item in page.headers["Content-Security-Policy"].split(";"))
    assert policy["script-src"] == "'self'"
    assert policy["connect-src"] == "'self'"
    assert policy["default-src"] == "'none'"
    assert policy["frame-ancestors"] == "'none'"
    assert "http" not in page.text  # no URL of another host in the page
    assert bundle.status_code == 200
    assert bundle.headers["content-type"].startswith(("text/javascript", "application/javascript"))
