"""The console in a real browser: sign in, watch the stream live, narrow it."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from playwright.async_api import expect

from tests.conftest import token
from tests.support.browser import ConsolePage, post_issue
from tests.support.server import RunningServer

TOPICS = ["incident", "task", "asset", "alert", "notification", "metric"]


async def test_an_operator_signs_in_and_sees_a_webhook_arrive_live(console: ConsolePage, server: RunningServer) -> None:
    await expect(console.page.locator("#sign-in")).to_be_visible()
    await console.sign_in(token(sub="operator", roles=("viewer",)))
    await expect(console.page.locator("#identity-sub")).to_have_text("operator")

    before = datetime.now(UTC)
    await post_issue(server.http, 41, summary="Checkout API p99 latency above 4s", priority="Highest")

    await expect(console.events).to_have_count(1)
    item = console.events.first
    await expect(item.locator(".event-type")).to_have_text("incident")
    await expect(item.locator(".event-action")).to_have_text("created")
    await expect(item.locator("[data-field='jira_id']")).to_have_text("OPS-41")
    await expect(item.locator("[data-field='title']")).to_have_text("Checkout API p99 latency above 4s")
    await expect(item.locator("[data-field='severity']")).to_have_text("critical")
    await expect(item.locator("[data-field='squad']")).to_have_text("ops")
    sent_at = datetime.fromisoformat(await item.locator("time").get_attribute("datetime") or "")
    assert before - timedelta(seconds=1) <= sent_at <= datetime.now(UTC)
    await expect(item.locator("time")).to_have_text(sent_at.strftime("%H:%M:%S"))


async def test_newest_events_are_listed_first(console: ConsolePage, server: RunningServer) -> None:
    await console.sign_in(token())

    for number in (1, 2, 3):
        await post_issue(server.http, number)

    await expect(console.field("jira_id")).to_have_text(["OPS-3", "OPS-2", "OPS-1"])


async def test_a_refused_token_is_explained_and_nothing_connects(console: ConsolePage) -> None:
    await console.page.locator("#token").fill(token(roles=()))
    await console.page.get_by_role("button", name="sign in").click()

    await expect(console.page.locator("#sign-in-error")).to_have_text(
        "sign-in refused (403): token grants no role (viewer, publisher or admin)"
    )
    await expect(console.state).to_have_text("disconnected")
    await expect(console.page.locator("#console")).to_be_hidden()


async def test_the_token_stays_out_of_the_page_and_its_storage(console: ConsolePage) -> None:
    secret = token(sub="careful")
    await console.sign_in(secret)

    await expect(console.page.locator("#token")).to_have_value("")
    assert secret not in await console.page.content()
    stored = await console.page.evaluate(
        "() => [document.cookie, JSON.stringify(localStorage), JSON.stringify(sessionStorage)]"
    )
    assert all(secret not in value for value in stored)
    [cookie] = await console.page.context.cookies(console.base)
    assert cookie["value"] == secret
    assert cookie["httpOnly"] is True


async def test_reloading_the_page_keeps_the_session(console: ConsolePage) -> None:
    await console.sign_in(token(sub="returning"))

    await console.page.reload()

    await expect(console.state).to_have_text("connected")
    await expect(console.page.locator("#identity-sub")).to_have_text("returning")


async def test_signing_out_closes_the_stream_and_forgets_the_cookie(console: ConsolePage) -> None:
    await console.sign_in(token())

    await console.page.get_by_role("button", name="sign out").click()

    await expect(console.page.locator("#sign-in")).to_be_visible()
    await expect(console.state).to_have_text("disconnected")
    assert await console.page.context.cookies(console.base) == []


async def test_filters_narrow_what_appears(console: ConsolePage, server: RunningServer) -> None:
    await console.sign_in(token())
    await post_issue(server.http, 1, project="PLAT")
    await expect(console.field("jira_id")).to_have_text(["PLAT-1"])

    await console.narrow(squad="ops")
    await expect(console.page.locator("#subscription")).to_contain_text("incident (squad ops)")
    # Already listed, and outside the new filter: gone from the list too.
    await expect(console.events).to_have_count(0)

    await post_issue(server.http, 2, project="PLAT")
    await post_issue(server.http, 3, project="OPS")
    # Events arrive in position order: once OPS-3 is shown, PLAT-2 would have been.
    await expect(console.field("jira_id")).to_have_text(["OPS-3"])
    narrowing = [frame for frame in console.sent if frame.get("filters")]
    assert narrowing == [
        {"id": narrowing[0]["id"], "action": "subscribe", "topics": TOPICS, "filters": {"squad": ["ops"]}}
    ]
    # The server filtered: PLAT-2 never reached the browser.
    assert [f["data"]["jira_id"] for f in console.received if f["type"] == "incident"] == ["PLAT-1", "OPS-3"]


async def test_unchecked_topics_are_not_shown(console: ConsolePage, server: RunningServer) -> None:
    await console.sign_in(token())

    await console.narrow(topics=["task"])
    await expect(console.page.locator("#subscription")).to_have_text("receiving task after position 0")
    await post_issue(server.http, 1, issue_type="Incident")
    await post_issue(server.http, 2, issue_type="Task")

    await expect(console.field("jira_id")).to_have_text(["OPS-2"])
    await expect(console.events.locator(".event-type")).to_have_text(["task"])


async def test_a_filter_the_token_does_not_grant_is_refused_by_the_server(
    console: ConsolePage,
) -> None:
    await console.sign_in(token(squads=("ops",), environments=()))

    await console.narrow(squad="platform")

    await expect(console.page.locator("#subscription")).to_have_text(
        "FORBIDDEN: filter asks for a squad your token does not grant"
    )
