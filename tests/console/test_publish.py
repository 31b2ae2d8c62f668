"""Sending a test notification from the board: only with a publisher's token, answered by the server."""

from __future__ import annotations

import re

import psycopg
import pytest
from playwright.async_api import expect

from tests.conftest import token
from tests.support.browser import BoardPage

pytestmark = pytest.mark.asyncio(loop_scope="module")


async def _fill(board: BoardPage, title: str, message: str, kind: str = "info", priority: str = "normal") -> None:
    page = board.page
    await page.locator("#publish-title").fill(title)
    await page.locator("#publish-message").fill(message)
    await page.locator("#publish-type").select_option(kind)
    await page.locator("#publish-priority").select_option(priority)
    await page.get_by_role("button", name="send").click()


async def test_a_publisher_sends_a_test_notification_and_sees_it_arrive(board: BoardPage, database_url: str) -> None:
    await board.sign_in(token(sub="pub", roles=("publisher",)))

    await _fill(board, "Deploy at 14:00", "Checkout freeze", kind="warning", priority="high")

    await expect(board.page.locator("#publish-status")).to_have_text(re.compile(r"^sent: notif-[0-9a-f]{32}$"))
    item = board.page.locator("#notification-list > li.notification")
    await expect(item).to_have_count(1)
    await expect(item.locator(".title")).to_have_text("Deploy at 14:00")
    await expect(item).to_have_class(re.compile(r"\btype-warning\b.*\bpriority-high\b"))
    await expect(board.page.locator("#unread")).to_have_text("1 unread")
    [published] = [frame for frame in board.sent if frame.get("type") == "notification"]
    assert published["action"] == "created"
    assert published["data"] == {"title": "Deploy at 14:00", "message": "Checkout freeze", "type": "warning",
                                 "priority": "high"}  # fmt: skip
    sent_id = (await board.page.locator("#publish-status").text_content() or "").removeprefix("sent: ")
    with psycopg.connect(database_url) as conn:
        assert conn.execute("SELECT id, sent_by FROM notifications").fetchall() == [(sent_id, "pub")]

    await board.page.get_by_role("button", name="mark all read").click()
    await expect(board.page.locator("#unread")).to_have_text("")


async def test_what_the_server_refuses_is_shown_with_its_error(board: BoardPage, database_url: str) -> None:
    await board.sign_in(token(roles=("admin",)))

    await _fill(board, "<script>x</script>", "markup only in the title")

    await expect(board.page.locator("#publish-status")).to_have_text(
        "refused: INVALID_MESSAGE: title and message must keep some text once markup is removed"
    )
    with psycopg.connect(database_url) as conn:
        assert conn.execute("SELECT count(*) FROM notifications").fetchone() == (0,)


async def test_a_viewer_cannot_send_and_is_told_why(board: BoardPage) -> None:
    await board.sign_in(token(roles=("viewer",)))

    await expect(board.page.locator("#publish-role")).to_have_text(
        "Sending needs a token with the publisher or admin role."
    )
    await expect(board.page.get_by_role("button", name="send")).to_be_disabled()
