"""The frontend client (/client/ops-bridge.js) in a real Chromium against the running service:
token as subprotocol, re-subscribe and resume across a real drop, in-band token refresh, the
contract's reconnection schedule, RESUME_TOO_OLD as "re-fetch now", the last 50 notifications."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import httpx
import psycopg
import pytest
from jose import jwt as jwt_claims

from app.db.engine import create_engine
from app.ingest.transaction import write
from app.store.event_retention import purge
from tests.conftest import JWT_SECRET, make_settings, token
from tests.support.browser import ClientPage, post_issue
from tests.support.server import RunningServer, free_port, server_in_thread, server_process

pytestmark = pytest.mark.asyncio(loop_scope="module")

# Back within the first backoff (3 s) plus a process start-up, or the second (6 s).
_BACK_AFTER_RESTART = 20_000


async def test_a_page_on_another_origin_imports_the_client_and_streams_with_its_token_as_subprotocol(
    client_page: ClientPage, server: RunningServer
) -> None:
    # localhost and 127.0.0.1 are two origins: the module is fetched with CORS, as by a frontend elsewhere.
    await client_page.page.goto(f"http://localhost:{server.port}/healthz")
    secret = token(sub="frontend")
    await client_page.start(server.http, url=server.ws, token=secret, topics=["incidents"], filters={"squad": "ops"})
    await client_page.wait_for("client.state.status === 'open'")

    await post_issue(server.http, 1, project="PLAT")
    await post_issue(server.http, 2, project="OPS")
    await client_page.wait_for("record.events.length === 1")

    assert await client_page.jira_ids() == ["OPS-2"]
    assert client_page.sockets == [server.ws]  # the token went as a subprotocol, never in the URL
    assert await client_page.page.evaluate("() => window.client.connection.sub") == "frontend"
    subscribe = client_page.sent[0]
    assert subscribe == {
        "id": subscribe["id"],
        "action": "subscribe",
        "topics": ["incidents"],
        "filters": {"squad": "ops"},
    }


async def test_a_dropped_connection_resubscribes_and_resumes_with_every_event_once_and_in_order(
    client_page: ClientPage, database_url: str, tmp_path: Path
) -> None:
    env = {"DATABASE_URL": database_url, "JWT_SECRET": JWT_SECRET}
    settings = make_settings(database_url, tmp_path)
    # Another server on the same database takes the webhooks while the client's server is down.
    with server_in_thread(settings) as other:
        with server_process(env) as first:
            await client_page.page.goto(f"{first.http}/healthz")
            await client_page.start(
                first.http, url=first.ws, token=token(), topics=["incident"], filters={"squad": "ops"}
            )
            await client_page.wait_for("client.state.status === 'open'")
            await post_issue(first.http, 1)
            await client_page.wait_for("record.events.length === 1")
            last_seen = client_page.event_ids()[-1]

            first.kill()
            await client_page.wait_for("client.state.status === 'reconnecting'")
            for number in (2, 3, 4):
                await post_issue(other.http, number)
            await post_issue(other.http, 5, project="PLAT")

        # Back on the same address (in a thread: no interpreter to start, so within the first backoff).
        with server_in_thread(settings, port=first.port) as second:
            await client_page.wait_for("client.state.status === 'open'", timeout=_BACK_AFTER_RESTART)
            await post_issue(second.http, 6)
            await client_page.wait_for("record.events.length === 5")

    assert await client_page.jira_ids() == ["OPS-1", "OPS-2", "OPS-3", "OPS-4", "OPS-6"]
    assert client_page.sockets[-1] == f"{first.ws}?last_event_id={last_seen}"
    first_drop = next(state for state in await client_page.record("states") if state["status"] == "reconnecting")
    assert (first_drop["attempt"], first_drop["delaySeconds"]) == (1, 3)
    # Each event once on the wire, in order, and the same subscription on both connections.
    ids = client_page.event_ids()
    assert ids == sorted(set(ids))
    subscribes = [
        {k: v for k, v in frame.items() if k != "id"} for frame in client_page.sent if frame["action"] == "subscribe"
    ]
    assert subscribes == [{"action": "subscribe", "topics": ["incident"], "filters": {"squad": "ops"}}] * 2


async def test_the_token_is_refreshed_in_band_before_it_expires_and_the_connection_lives_on(
    client_page: ClientPage, database_url: str, tmp_path: Path
) -> None:
    settings = make_settings(database_url, tmp_path, jwt_leeway_seconds=0)
    with server_in_thread(settings) as running:
        await client_page.page.goto(f"{running.http}/healthz")
        short, fresh = token(sub="ana", ttl=4), token(sub="ana", ttl=600)
        await client_page.start(running.http, url=running.ws, tokens=[short, fresh], refreshBeforeSeconds=3)
        await client_page.wait_for("client.state.status === 'open'")

        # Refreshed a second after connecting (a 4 s token, 3 s ahead of its expiry) ...
        await client_page.wait_for("record.acks.length === 1")
        # ... and the short token's expiry passes with the connection open.
        expired_at = jwt_claims.get_unverified_claims(short)["exp"]
        await client_page.wait_for(f"Date.now() > {expired_at * 1000 + 1000}", timeout=10_000)
        pong = await client_page.page.evaluate("() => window.client.ping().then((answer) => answer.type)")
        states = [state["status"] for state in await client_page.record("states")]

    assert pong == "pong"
    [auth] = [frame for frame in client_page.sent if frame["action"] == "auth"]
    assert auth["token"] == fresh
    [ack] = [frame for frame in client_page.received if frame.get("action") == "auth"]
    assert ack["type"] == "ack"
    assert ack["data"]["original_message_id"] == auth["id"]
    assert len(client_page.sockets) == 1, "the connection was never dropped"
    assert states == ["connecting", "open"]


async def test_a_token_that_expires_with_no_way_to_refresh_it_stops_the_client_instead_of_retrying(
    client_page: ClientPage, database_url: str, tmp_path: Path
) -> None:
    settings = make_settings(database_url, tmp_path, jwt_leeway_seconds=0)
    with server_in_thread(settings) as running:
        await client_page.page.goto(f"{running.http}/healthz")
        await client_page.start(running.http, url=running.ws, token=token(ttl=2))
        await client_page.wait_for("client.state.status === 'expired'")

    assert (await client_page.record("states"))[-1] == {
        "status": "expired", "attempt": 0, "maxAttempts": 5, "lastEventId": 0, "closeCode": 4001
    }  # fmt: skip
    assert len(client_page.sockets) == 1


async def test_reconnecting_follows_the_contracts_schedule_3_6_12_24_48_seconds_then_waits_to_be_told(
    client_page: ClientPage, server: RunningServer
) -> None:
    page = client_page.page
    # The page's timers run on a clock the test moves: the 93 s of backoff take no time.
    await page.clock.install()
    await page.goto(f"{server.http}/healthz")
    nobody = f"ws://127.0.0.1:{free_port()}/api/ws"  # refuses every connection
    await client_page.start(server.http, url=nobody, token=token())

    for attempt, seconds in enumerate((3, 6, 12, 24, 48), start=1):
        await client_page.wait_for(f"client.state.status === 'reconnecting' && client.state.attempt === {attempt}")
        assert (await page.evaluate("() => window.client.state.delaySeconds")) == seconds
        await page.clock.run_for(seconds * 1000 - 100)
        assert len(client_page.sockets) == attempt, "tried again before its backoff was over"
        await page.clock.run_for(100)
        await client_page.wait_for(f"client.state.status !== 'reconnecting' || client.state.attempt > {attempt}")

    await client_page.wait_for("client.state.status === 'offline'")
    await page.clock.run_for(600_000)
    assert len(client_page.sockets) == 6, "the first connection and five tries, then nothing more"

    await page.evaluate("() => window.client.connect()")
    await client_page.wait_for("client.state.status === 'reconnecting' && client.state.attempt === 1")
    assert len(client_page.sockets) == 7


async def _purge_before(database_url: str, position: int) -> None:
    with psycopg.connect(database_url, autocommit=True) as conn:
        conn.execute("UPDATE events SET created_at = now() - interval '10 days' WHERE position < %s", [position])
    engine = create_engine(database_url)
    try:
        async with write(engine) as conn:
            await purge(conn, timedelta(days=7))
    finally:
        await engine.dispose()


async def test_resuming_from_before_the_logs_retention_tells_the_app_to_refetch_now(
    client_page: ClientPage, database_url: str, tmp_path: Path
) -> None:
    # A replay buffer of one event: the resume is read from the log, where the purge shows.
    with server_in_thread(make_settings(database_url, tmp_path, replay_buffer_events=1)) as running:
        for number in (1, 2, 3, 4):
            await post_issue(running.http, number)
        await _purge_before(database_url, 3)
        await client_page.page.goto(f"{running.http}/healthz")

        await client_page.start(running.http, url=running.ws, token=token(), lastEventId=1)
        await client_page.wait_for("record.events.length === 2")
        [signal] = await client_page.record("refetch")

    assert signal["reason"] == "RESUME_TOO_OLD"
    assert await client_page.jira_ids() == ["OPS-3", "OPS-4"]


async def test_the_last_50_notifications_are_kept_with_an_unread_count_across_a_reload(
    client_page: ClientPage, server: RunningServer
) -> None:
    await client_page.page.goto(f"{server.http}/healthz")
    options = {"url": server.ws, "token": token(sub="reader"), "storage": "localStorage"}
    await client_page.start(server.http, **options)
    await client_page.wait_for("client.state.status === 'open'")
    publisher = {"Authorization": f"Bearer {token(roles=('publisher',))}"}
    async with httpx.AsyncClient(base_url=server.http, timeout=10) as http:
        for number in range(1, 53):
            body = {"title": f"note {number}", "message": "for the wall"}
            assert (await http.post("/api/notifications", json=body, headers=publisher)).status_code == 201
    await client_page.wait_for("client.notifications[0]?.title === 'note 52'")

    assert await client_page.page.evaluate("() => window.client.unread") == 50
    titles = await client_page.page.evaluate("() => window.client.notifications.map((n) => n.title)")
    assert titles == [f"note {number}" for number in range(52, 2, -1)]
    await client_page.page.evaluate("() => { window.client.markRead(window.client.notifications[0].id); }")
    assert await client_page.page.evaluate("() => window.client.unread") == 49
    await client_page.page.evaluate("() => window.client.close()")

    await client_page.page.reload()
    await client_page.start(server.http, **options)
    kept = await client_page.page.evaluate("() => [window.client.unread, window.client.notifications.length]")
    assert kept == [49, 50]
    await client_page.page.evaluate("() => window.client.markAllRead()")
    assert await client_page.page.evaluate("() => window.client.unread") == 0
