"""Resume storms: many clients resuming at once from the same point (after a
deploy) get every event they may see, once, in order, for a handful of reads
of the log; and a replay that cannot read the log closes its socket with 1013
(resume again) and a log line, never leaves it open and silent."""

from __future__ import annotations

import asyncio
import json
import secrets
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx
import psycopg
from psycopg import sql
from sqlalchemy.engine import make_url
from websockets.exceptions import ConnectionClosed

from tests.conftest import make_settings, token
from tests.support.alerts import am_alert, am_group, rows
from tests.support.clients import expect_silence, open_stream, receive, receive_events
from tests.support.database import PgServer
from tests.support.logwatch import watching
from tests.support.scrape import Scrape, scrape
from tests.support.server import RunningServer, server_in_thread

RESUME_AGAIN = 1013
# Long enough for hundreds of sockets on a busy two-core machine; a socket that
# has neither its events nor a close by then is stalled.
_OUTCOME_TIMEOUT = 60.0
# One alert in this many is for the squad the resuming clients may see.
_THEIRS_EVERY = 100


def _squad_of(index: int) -> str:
    return "ops" if index % _THEIRS_EVERY == _THEIRS_EVERY - 1 else "pay"


async def _post_alerts(http: httpx.AsyncClient, count: int, tag: str) -> None:
    alerts = [am_alert(f"{tag}-{i}", squad=_squad_of(i), env="none") for i in range(count)]
    response = await http.post("/api/webhooks/alertmanager", json=am_group(*alerts), timeout=60)
    assert response.status_code == 200, response.text


def _newest(database_url: str) -> int:
    [(newest,)] = rows(database_url, "SELECT coalesce(max(position), 0) FROM events")
    return int(newest)


def _positions_after(database_url: str, after: int, squad: str | None = None) -> list[int]:
    """What the log holds after `after` (for `squad` only, if given): what a resume must deliver."""
    found = rows(
        database_url,
        "SELECT position FROM events WHERE position > %s AND (%s::text IS NULL OR squad = %s) ORDER BY position",
        after,
        squad,
        squad,
    )
    return [position for (position,) in found]


def _ops_token(index: int) -> str:
    # One subject per client: the per-user connection limit is not under test here.
    return token(sub=f"screen-{index}", squads=("ops",), environments=("staging",))


async def _wait_published(server: RunningServer, database_url: str) -> None:
    """Until the server's hub has published everything committed so far (its confirmation says where it is)."""
    newest = _newest(database_url)
    async with asyncio.timeout(30):
        while True:
            async with await open_stream(server.ws, token(sub="probe")) as ws:
                hello = await receive(ws)
            if hello["data"]["position"] >= newest:
                return
            await asyncio.sleep(0.05)


@dataclass
class Outcome:
    ids: list[int]
    close_code: int | None = None


async def _resume(url: str, bearer: str, expected: int) -> Outcome:
    """Resume and take `expected` events; or the close that came instead."""
    try:
        async with await open_stream(url, bearer) as ws:
            hello = await receive(ws, _OUTCOME_TIMEOUT)
            assert hello["type"] == "connection", hello
            events = await receive_events(ws, expected, timeout=_OUTCOME_TIMEOUT)
            assert await expect_silence(ws) == []
            return Outcome([event["id"] for event in events])
    except ConnectionClosed as closed:
        return Outcome([], closed.rcvd.code if closed.rcvd is not None else None)


async def test_five_hundred_clients_resuming_from_the_same_point_cost_a_handful_of_log_reads(
    database_url: str, tmp_path: Path
) -> None:
    # A ring far smaller than the gap: the replay has to read the log.
    settings = make_settings(database_url, tmp_path, replay_buffer_events=10)
    with server_in_thread(settings) as server:
        async with httpx.AsyncClient(base_url=server.http) as http:
            await _post_alerts(http, 1, "before")
            last_seen = _newest(database_url)
            await _post_alerts(http, 1000, "missed")
            await _wait_published(server, database_url)
            theirs = _positions_after(database_url, last_seen, squad="ops")
            everything = _positions_after(database_url, last_seen)
            assert len(theirs) == 10
            assert len(everything) >= 1000

            before = await scrape(http)
            url = f"{server.ws}?last_event_id={last_seen}"
            screens = [_resume(url, _ops_token(i), len(theirs)) for i in range(495)]
            admins = [_resume(url, token(sub=f"admin-{i}", roles=("admin",)), len(everything)) for i in range(5)]
            outcomes = await asyncio.gather(*screens, *admins)
            after = await scrape(http)

    reads = after.value("ops_bridge_replay_reads_total", source="database") - before.value(
        "ops_bridge_replay_reads_total", source="database"
    )
    assert [o.ids for o in outcomes[:495]] == [theirs] * 495
    assert [o.ids for o in outcomes[495:]] == [everything] * 5
    # Two pages of 500 cover the gap; a handful allows for a read started before another's page was kept.
    assert reads <= 5, reads


async def test_clients_resuming_from_different_points_each_get_exactly_their_gap_from_shared_pages(
    database_url: str, tmp_path: Path
) -> None:
    settings = make_settings(database_url, tmp_path, replay_buffer_events=10)
    with server_in_thread(settings) as server:
        async with httpx.AsyncClient(base_url=server.http) as http:
            await _post_alerts(http, 1, "before")
            first = _newest(database_url)
            await _post_alerts(http, 1000, "missed")
            await _wait_published(server, database_url)
            theirs = _positions_after(database_url, first, squad="ops")
            # Spread over the first 600 positions: across page boundaries, inside and between pages.
            cursors = [first + 6 * i for i in range(100)]

            before = await scrape(http)
            outcomes = await asyncio.gather(
                *(
                    _resume(
                        f"{server.ws}?last_event_id={cursor}",
                        _ops_token(i),
                        len([p for p in theirs if p > cursor]),
                    )
                    for i, cursor in enumerate(cursors)
                )
            )
            after = await scrape(http)

    reads = after.value("ops_bridge_replay_reads_total", source="database") - before.value(
        "ops_bridge_replay_reads_total", source="database"
    )
    assert [o.ids for o in outcomes] == [[p for p in theirs if p > cursor] for cursor in cursors]
    assert reads <= 8, reads


async def test_resumes_through_a_one_connection_pool_all_complete(database_url: str, tmp_path: Path) -> None:
    settings = make_settings(
        database_url, tmp_path, replay_buffer_events=10, database_pool_size=1, database_max_overflow=0
    )
    with server_in_thread(settings) as server:
        async with httpx.AsyncClient(base_url=server.http) as http:
            await _post_alerts(http, 1, "before")
            last_seen = _newest(database_url)
            await _post_alerts(http, 1000, "missed")
            await _wait_published(server, database_url)
            theirs = _positions_after(database_url, last_seen, squad="ops")

            outcomes = await _storm(server, last_seen, len(theirs), 500)

    assert [o.ids for o in outcomes] == [theirs] * 500


@dataclass
class PoolRole:
    """A login role of the service's pool alone (the listener keeps the owner's), so the pool can be
    locked out while the listener stays connected: replays fail, the stream stays up."""

    postgres: PgServer
    name: str
    url: str

    def lock_out(self) -> None:
        with self.postgres.admin() as admin:
            admin.execute(sql.SQL("ALTER ROLE {} NOLOGIN").format(sql.Identifier(self.name)))
            admin.execute("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE usename = %s", (self.name,))

    def let_in(self) -> None:
        with self.postgres.admin() as admin:
            admin.execute(sql.SQL("ALTER ROLE {} LOGIN").format(sql.Identifier(self.name)))


@contextmanager
def _pool_role(postgres: PgServer, database_url: str) -> Iterator[PoolRole]:
    name = f"pool_{secrets.token_hex(4)}"
    password = secrets.token_hex(12)
    with postgres.admin() as admin:
        admin.execute(sql.SQL("CREATE ROLE {} LOGIN PASSWORD {}").format(sql.Identifier(name), sql.Literal(password)))
    with psycopg.connect(database_url, autocommit=True) as owner:
        for kind in ("TABLES", "SEQUENCES"):
            owner.execute(
                sql.SQL("GRANT ALL ON ALL {} IN SCHEMA public TO {}").format(sql.SQL(kind), sql.Identifier(name))
            )
    url = make_url(database_url).set(username=name, password=password).render_as_string(hide_password=False)
    try:
        yield PoolRole(postgres, name, url)
    finally:
        with postgres.admin() as admin:
            admin.execute("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE usename = %s", (name,))
        with psycopg.connect(database_url, autocommit=True) as owner:
            owner.execute(sql.SQL("DROP OWNED BY {}").format(sql.Identifier(name)))
        with postgres.admin() as admin:
            admin.execute(sql.SQL("DROP ROLE {}").format(sql.Identifier(name)))


async def _resume_by_subscribe(url: str, bearer: str, position: int, expected: int) -> Outcome:
    """Connect, then resume with `resume_from` in the first subscribe (no lookup before the replay)."""
    try:
        async with await open_stream(url, bearer) as ws:
            await receive(ws, _OUTCOME_TIMEOUT)
            await ws.send(json.dumps({"action": "subscribe", "id": "resume", "resume_from": position}))
            events = await receive_events(ws, expected, timeout=_OUTCOME_TIMEOUT)
            assert await expect_silence(ws) == []
            return Outcome([event["id"] for event in events])
    except ConnectionClosed as closed:
        return Outcome([], closed.rcvd.code if closed.rcvd is not None else None)


async def _storm(server: RunningServer, last_seen: int, expected: int, clients: int) -> list[Outcome]:
    """Half the clients resume with ?last_event_id (a lookup first), half with resume_from (straight to the read)."""
    url = f"{server.ws}?last_event_id={last_seen}"
    by_url = [_resume(url, _ops_token(i), expected) for i in range(clients // 2)]
    by_subscribe = [
        _resume_by_subscribe(server.ws, _ops_token(i), last_seen, expected) for i in range(clients // 2, clients)
    ]
    return await asyncio.gather(*by_url, *by_subscribe)


async def test_a_replay_that_cannot_read_the_log_closes_with_resume_again_and_says_so(
    postgres: PgServer, database_url: str, tmp_path: Path
) -> None:
    with _pool_role(postgres, database_url) as pool:
        settings = make_settings(pool.url, tmp_path, replay_buffer_events=10, database_listen_url=database_url)
        with server_in_thread(settings) as server:
            async with httpx.AsyncClient(base_url=server.http) as http:
                await _post_alerts(http, 1, "before")
                last_seen = _newest(database_url)
                await _post_alerts(http, 300, "missed")
            await _wait_published(server, database_url)
            theirs = _positions_after(database_url, last_seen, squad="ops")

            with watching("app.ws.session", lambda message: "(resume again)" in message) as log:
                pool.lock_out()
                try:
                    failed = await _storm(server, last_seen, len(theirs), 20)
                finally:
                    pool.let_in()
            # What the clients then do: resume again, and get everything.
            again = await _storm(server, last_seen, len(theirs), 20)

    assert [(o.ids, o.close_code) for o in failed] == [([], RESUME_AGAIN)] * 20
    told = [message for message in log.messages if "(resume again)" in message]
    assert len(told) == 20
    assert sum("looking up the resume point" in message for message in told) == 10
    assert sum("replaying the events it missed" in message for message in told) == 10
    assert all("database is unavailable" in message for message in told)
    assert [o.ids for o in again] == [theirs] * 20


async def test_a_process_started_after_the_events_serves_recent_resumes_from_its_warmed_ring(
    database_url: str, tmp_path: Path
) -> None:
    with server_in_thread(make_settings(database_url, tmp_path)) as first:
        async with httpx.AsyncClient(base_url=first.http) as http:
            await _post_alerts(http, 1, "before")
            oldest_seen = _newest(database_url)
            await _post_alerts(http, 29, "missed")
    everything = _positions_after(database_url, oldest_seen)
    recent_seen = everything[-21]  # 20 events back: within a ring of 20
    admin = token(sub="admin", roles=("admin",))

    # A new process (as after a deploy), its ring smaller than the gap of the oldest resume.
    with server_in_thread(make_settings(database_url, tmp_path, replay_buffer_events=20)) as second:
        async with httpx.AsyncClient(base_url=second.http) as http:
            before = await scrape(http)
            recent = await _resume(f"{second.ws}?last_event_id={recent_seen}", admin, 20)
            middle = await scrape(http)
            old = await _resume(f"{second.ws}?last_event_id={oldest_seen}", admin, len(everything))
            after = await scrape(http)

    def delta(later: Scrape, earlier: Scrape, source: str) -> float:
        name = "ops_bridge_replay_reads_total"
        return later.value(name, source=source) - earlier.value(name, source=source)

    assert recent.ids == everything[-20:]
    assert (delta(middle, before, "memory"), delta(middle, before, "database")) == (1, 0)
    assert old.ids == everything
    assert delta(after, middle, "database") == 1
