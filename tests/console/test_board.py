"""The board in a real browser: what is open now on load and after a reload, kept live by the stream."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import pytest
from playwright.async_api import expect

from app.db.engine import create_engine
from app.ingest.transaction import write
from app.monitoring_jobs import age_alerts_now
from tests.conftest import token
from tests.support.alerts import am_alert
from tests.support.browser import BoardPage, post_alerts, post_issue
from tests.support.server import RunningServer

pytestmark = pytest.mark.asyncio(loop_scope="module")


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


async def test_the_board_shows_what_is_open_on_load_and_again_after_a_reload(
    board: BoardPage, server: RunningServer
) -> None:
    await post_issue(server.http, 1, summary="Checkout API p99 above 4s", priority="Highest")
    await post_issue(server.http, 2, summary="Search degraded", priority="High")
    await post_issue(server.http, 3, summary="Fixed last year", status="Done", category="done")
    await post_alerts(
        server.http,
        am_alert("a1", alertname="PostgresReplicationLag", severity="critical"),
        am_alert("a2", alertname="DiskFilling", severity="warning"),
    )
    await board.sign_in(token(sub="wall"))

    for _ in range(2):
        await expect(board.keys()).to_have_text(["OPS-1", "OPS-2"])
        await expect(board.count("incidents")).to_have_text("2")
        await expect(board.count("incidents", "critical")).to_have_text("1 critical")
        await expect(board.count("incidents", "high")).to_have_text("1 high")
        await expect(board.count("alerts")).to_have_text("2")
        await expect(board.alerts.locator(".title")).to_have_text(["PostgresReplicationLag", "DiskFilling"])
        await expect(board.alerts.locator(".badge[data-status]")).to_have_text(["firing", "firing"])
        await board.page.reload()
        await expect(board.state).to_have_text("live")


async def test_a_new_incident_appears_live_and_its_resolution_takes_it_out_of_the_count(
    board: BoardPage, server: RunningServer
) -> None:
    await board.sign_in(token())
    await expect(board.count("incidents")).to_have_text("0")

    await post_issue(server.http, 7, summary="Payments timing out", priority="Highest", updated=_now())
    await expect(board.keys()).to_have_text(["OPS-7"])
    await expect(board.count("incidents", "critical")).to_have_text("1 critical")

    await post_issue(
        server.http, 7, event="jira:issue_updated", status="Done", category="done", priority="Highest", updated=_now()
    )
    card = board.card("incident", "inc-10007")
    await expect(card).to_have_attribute("data-state", "resolved")
    await expect(card.locator(".badge[data-status]")).to_have_text("resolved")
    await expect(board.count("incidents")).to_have_text("0")


async def test_an_alerts_resolution_turns_its_card_to_resolved_and_out_of_the_firing_count(
    board: BoardPage, server: RunningServer
) -> None:
    await board.sign_in(token())
    await post_alerts(server.http, am_alert("r1", alertname="HighErrorRate", severity="critical"))
    card = board.alerts.first
    await expect(card.locator(".badge[data-status]")).to_have_text("firing")
    await expect(board.count("alerts", "critical")).to_have_text("1 critical")

    await post_alerts(server.http, am_alert("r1", alertname="HighErrorRate", severity="critical",
                                            status="resolved", ends_at=_now()))  # fmt: skip

    await expect(card).to_have_attribute("data-state", "resolved")
    await expect(card.locator(".badge[data-status]")).to_have_text("resolved")
    await expect(card.locator("time.ago")).to_have_text("resolved just now")
    await expect(board.count("alerts")).to_have_text("0")
    # Resolved and firing differ in more than a word: a room sees the card change.
    firing_border, resolved_opacity = await card.evaluate(
        "(node) => [getComputedStyle(node).borderLeftColor, getComputedStyle(node).opacity]"
    )
    assert firing_border == "rgb(63, 185, 80)"  # --resolved
    assert float(resolved_opacity) < 1


async def test_an_alert_the_service_expires_is_shown_closed_and_out_of_the_stale_count(
    board: BoardPage, server: RunningServer
) -> None:
    """An alert that resolved while silenced never gets its resolution: once the service expires it
    (docs/monitoring.md), the board shows it ended, as a resolution, instead of stale for ever."""
    await board.sign_in(token())
    await post_alerts(server.http, am_alert("x1", alertname="DiskFull", severity="critical"))
    card = board.alerts.first
    await expect(card.locator(".badge[data-status]")).to_have_text("firing")

    settings = server.settings
    assert settings.database_url is not None
    engine = create_engine(settings.database_url)
    try:
        for silent in (settings.alert_stale_after_seconds, settings.alert_expire_after_seconds):
            async with write(engine) as conn:
                await age_alerts_now(conn, settings, now=datetime.now(UTC) + timedelta(seconds=silent + 60))
            if silent == settings.alert_stale_after_seconds:
                await expect(card.locator(".badge[data-status]")).to_have_text("stale")
    finally:
        await engine.dispose()

    await expect(card).to_have_attribute("data-state", "expired")
    await expect(card.locator(".badge[data-status]")).to_have_text("expired")
    await expect(board.count("alerts")).to_have_text("0")
    assert float(await card.evaluate("(node) => getComputedStyle(node).opacity")) < 1


async def test_filters_narrow_the_board_and_widen_it_again_and_live_in_the_url(
    board: BoardPage, server: RunningServer
) -> None:
    await board.sign_in(token())
    await post_issue(server.http, 1, project="PLAT", priority="Highest")
    await post_issue(server.http, 2, project="OPS", priority="Low")
    await post_alerts(server.http, am_alert("s1", env="staging"), am_alert("p1", env="prod"))
    await expect(board.keys()).to_have_text(["PLAT-1", "OPS-2"])
    await expect(board.alerts).to_have_count(2)

    await board.narrow(squad="ops", environment="production")
    await expect(board.keys()).to_have_text(["OPS-2"])
    await expect(board.alerts.locator(".meta")).to_have_text([re.compile(r"^production")])
    await expect(board.page.locator("#filter-summary")).to_have_text(
        "showing 1 of 2 open incidents, 1 of 2 firing alerts"
    )
    await post_issue(server.http, 3, project="PLAT")  # arrives while hidden
    assert "squad=ops" in board.page.url

    await board.page.reload()
    await expect(board.keys()).to_have_text(["OPS-2"])
    await board.narrow(severities=("critical",))
    await expect(board.keys()).to_have_text(["PLAT-1"])

    await board.page.get_by_role("button", name="show everything").click()
    await expect(board.keys()).to_have_text(["PLAT-1", "PLAT-3", "OPS-2"])
    await expect(board.alerts).to_have_count(2)
    await expect(board.page.locator("#filter-summary")).to_have_text("showing everything")
    assert board.page.url.endswith("/console")


async def test_wall_mode_shows_the_board_in_large_type_without_controls(
    board: BoardPage, server: RunningServer
) -> None:
    await board.sign_in(token())
    await post_issue(server.http, 1, priority="Highest")
    normal = await board.page.evaluate("() => parseFloat(getComputedStyle(document.documentElement).fontSize)")

    await board.page.get_by_role("link", name="wall screen").click()
    await expect(board.keys()).to_have_text(["OPS-1"])
    for control in ("#filters", "#publish", "#identity", "#mark-read"):
        await expect(board.page.locator(control)).to_be_hidden()
    wall = await board.page.evaluate("() => parseFloat(getComputedStyle(document.documentElement).fontSize)")
    assert wall > normal

    await board.page.keyboard.press("Escape")
    await expect(board.page.locator("#filters")).to_be_visible()


@pytest.mark.parametrize(("width", "height"), [(1920, 1080), (1280, 720), (390, 844)])
async def test_the_board_fits_the_screen_without_sideways_scrolling_or_squeezed_cards(
    board: BoardPage, server: RunningServer, width: int, height: int
) -> None:
    await board.page.set_viewport_size({"width": width, "height": height})
    await board.sign_in(token())
    long_title = "Checkout API p99 latency above 4s in every region after the 14:00 deploy of the payments gateway"
    await post_issue(server.http, 1, priority="Highest", summary=long_title)
    await post_alerts(server.http, am_alert("w1", alertname="PostgresReplicationLagAboveThresholdForLong"))
    await expect(board.keys()).to_have_text(["OPS-1"])

    layout = await board.page.evaluate(
        """() => ({
          overflow: document.documentElement.scrollWidth - document.documentElement.clientWidth,
          cards: [...document.querySelectorAll("li.card")].map((card) => card.getBoundingClientRect().width),
          lines: Math.round(document.querySelector("li.card .title").getBoundingClientRect().height /
                            parseFloat(getComputedStyle(document.querySelector("li.card .title")).lineHeight)),
        })"""
    )
    assert layout["overflow"] <= 0, "the page scrolls sideways"
    assert min(layout["cards"]) >= min(320, width - 40), "a card is squeezed"
    assert layout["lines"] <= 4, "the title wraps into a column of letters"
