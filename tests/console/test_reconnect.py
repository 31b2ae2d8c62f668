"""The console when its server goes away: the contract's backoff, then a resume with nothing missed or doubled."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from pathlib import Path

from playwright.async_api import expect

from tests.conftest import JWT_SECRET, make_settings, token
from tests.support.browser import ConsolePage, post_issue
from tests.support.server import server_in_thread, server_process

# Back within the first backoff (3 s) plus a process start-up, or the second (6 s).
_BACK_AFTER_RESTART = 20_000


def _env(database_url: str) -> dict[str, str]:
    return {"DATABASE_URL": database_url, "JWT_SECRET": JWT_SECRET}


async def test_a_killed_server_shows_reconnecting_and_the_page_resumes_without_gap_or_double(
    browser_page: ConsolePage, database_url: str
) -> None:
    console = browser_page
    # A second process on the same database takes the webhooks while the page's server is down.
    with server_process(_env(database_url)) as other:
        with server_process(_env(database_url)) as first:
            console.base = first.http
            await console.open()
            await console.sign_in(token())
            await post_issue(first.http, 1)
            await expect(console.field("jira_id")).to_have_text(["OPS-1"])
            last_seen = int(await console.events.first.get_attribute("data-id") or "")

            first.kill()
            await expect(console.state).to_have_text(re.compile(r"reconnecting in [123]s \(attempt 1 of 5\)"))
            for number in (2, 3, 4):
                await post_issue(other.http, number)

        with server_process(_env(database_url), port=first.port) as second:
            await expect(console.state).to_have_text("connected", timeout=_BACK_AFTER_RESTART)
            await expect(console.field("jira_id")).to_have_text(["OPS-4", "OPS-3", "OPS-2", "OPS-1"])
            await post_issue(second.http, 5)
            await expect(console.field("jira_id")).to_have_text(["OPS-5", "OPS-4", "OPS-3", "OPS-2", "OPS-1"])

    assert console.sockets[-1].endswith(f"/api/ws?last_event_id={last_seen}")
    # Nothing arrived twice on the wire either way: each event once, in order.
    ids = [frame["id"] for frame in console.received if "id" in frame]
    assert ids == sorted(set(ids))
    # Re-subscribed on the new connection.
    assert [frame["action"] for frame in console.sent].count("subscribe") == 2


async def test_the_page_backs_off_3_6_12_24_48_seconds_then_gives_up_until_told_to_reconnect(
    browser_page: ConsolePage, database_url: str
) -> None:
    console = browser_page
    with server_process(_env(database_url)) as first:
        console.base = first.http
        # The page's timers run on a clock the test moves: the 93 s of backoff take no time.
        await console.page.clock.install()
        await console.open()
        await console.sign_in(token())
        await console.page.clock.pause_at(datetime.now(UTC) + timedelta(minutes=1))
        first.kill()

    for attempt, seconds in enumerate((3, 6, 12, 24, 48), start=1):
        await expect(console.state).to_have_text(f"reconnecting in {seconds}s (attempt {attempt} of 5)")
        await console.page.clock.run_for((seconds - 1) * 1000)
        await expect(console.state).to_have_text(f"reconnecting in 1s (attempt {attempt} of 5)")
        assert len(console.sockets) == attempt, "tried again before its backoff was over"
        await console.page.clock.run_for(1000)

    await expect(console.state).to_have_text("disconnected")
    assert len(console.sockets) == 6, "the first connection and five tries"
    reconnect = console.page.get_by_role("button", name="reconnect")
    await expect(reconnect).to_be_visible()

    with server_process(_env(database_url), port=first.port):
        await reconnect.click()
        await expect(console.state).to_have_text("connected")
        await expect(reconnect).to_be_hidden()


async def test_an_expired_token_ends_the_session_instead_of_reconnecting(
    browser_page: ConsolePage, database_url: str, tmp_path: Path
) -> None:
    settings = make_settings(database_url, tmp_path, jwt_leeway_seconds=0)
    with server_in_thread(settings) as running:
        console = browser_page
        console.base = running.http
        await console.open()
        await console.sign_in(token(ttl=3))

        await expect(console.page.locator("#sign-in-error")).to_have_text(
            "Your token expired: sign in with a fresh one."
        )
        await expect(console.state).to_have_text("disconnected")
        assert len(console.sockets) == 1
