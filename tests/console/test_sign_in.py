"""Signing the board in and keeping it signed in: the token never stays in the page, the session is
renewed in place before it ends, and a session that ended keeps the board up until a fresh token comes."""

from __future__ import annotations

from pathlib import Path

import pytest
from playwright.async_api import expect

from tests.conftest import make_settings, token
from tests.support.browser import BoardPage, post_issue
from tests.support.server import server_in_thread

pytestmark = pytest.mark.asyncio(loop_scope="module")


async def test_a_refused_token_is_explained_and_nothing_connects(board: BoardPage) -> None:
    await board.page.locator("#token").fill(token(roles=()))
    await board.page.get_by_role("button", name="sign in").click()

    await expect(board.page.locator("#sign-in-error")).to_have_text(
        "sign-in refused (403): token grants no role (viewer, publisher or admin)"
    )
    await expect(board.state).to_have_text("disconnected")
    await expect(board.page.locator("#board")).to_be_hidden()
    assert board.sockets == []


async def test_the_token_stays_out_of_the_page_and_its_storage(board: BoardPage) -> None:
    secret = token(sub="careful")
    await board.sign_in(secret)

    await expect(board.page.locator("#token")).to_have_value("")
    assert secret not in await board.page.content()
    stored = await board.page.evaluate(
        "() => [document.cookie, JSON.stringify(localStorage), JSON.stringify(sessionStorage)]"
    )
    assert all(secret not in value for value in stored)
    [cookie] = await board.page.context.cookies(board.base)
    assert cookie["value"] == secret
    assert cookie["httpOnly"] is True


async def test_signing_out_closes_the_stream_and_forgets_the_cookie_and_what_was_kept(board: BoardPage) -> None:
    await board.sign_in(token(sub="leaving"))

    await board.page.get_by_role("button", name="sign out").click()

    await expect(board.page.locator("#sign-in")).to_be_visible()
    await expect(board.state).to_have_text("disconnected")
    assert await board.page.context.cookies(board.base) == []
    assert await board.page.evaluate("() => localStorage.getItem('ops-bridge:board:leaving')") is None


async def test_a_session_about_to_end_is_renewed_in_place_without_dropping_the_stream(board: BoardPage) -> None:
    await board.sign_in(token(sub="wall", ttl=600))
    renew = board.page.locator("#renew")
    await expect(renew).to_contain_text("The session ends in 10 min.")

    fresh = token(sub="wall", ttl=30 * 24 * 3600)
    await board.page.locator("#renew-token").fill(fresh)
    await board.page.get_by_role("button", name="renew").click()

    await expect(renew).to_be_hidden()
    await expect(board.page.locator("#renew-token")).to_have_value("")
    [cookie] = await board.page.context.cookies(board.base)
    assert cookie["value"] == fresh
    [auth] = [frame for frame in board.sent if frame["action"] == "auth"]
    assert auth["token"] == fresh
    assert any(f.get("action") == "auth" and f["data"]["original_message_id"] == auth["id"] for f in board.received)
    assert len(board.sockets) == 1, "renewed on the open connection"
    await expect(board.state).to_have_text("live")


async def test_an_ended_session_keeps_the_board_up_and_a_fresh_token_brings_it_back_with_what_it_missed(
    browser_page: BoardPage, database_url: str, tmp_path: Path
) -> None:
    board = browser_page
    with server_in_thread(make_settings(database_url, tmp_path, jwt_leeway_seconds=0)) as running:
        board.base = running.http
        await post_issue(running.http, 1)
        await board.open()
        await board.sign_in(token(sub="wall", ttl=3))
        await expect(board.keys()).to_have_text(["OPS-1"])

        await expect(board.state).to_have_text("signed out: the session expired")
        await expect(board.page.locator("#renew")).to_contain_text("The session has ended")
        await expect(board.keys()).to_have_text(["OPS-1"])
        await post_issue(running.http, 2, priority="Highest")

        await board.page.locator("#renew-token").fill(token(sub="wall"))
        await board.page.get_by_role("button", name="renew").click()

        await expect(board.state).to_have_text("live")
        await expect(board.keys()).to_have_text(["OPS-2", "OPS-1"])
    assert len(board.sockets) == 2
    assert "?last_event_id=" in board.sockets[1]
