"""The board in a real browser: what is open now on load and after a reload, kept live by the stream."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from playwright.async_api import expect

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
