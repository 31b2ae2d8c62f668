"""Pieces of the fault suite: a cluster of app processes, subscribers that behave
like dashboards (reconnect anywhere and resume), a sender that behaves like
Jira (retries a failed delivery with the same identifier), the tally, and
`stream_through`, which runs them all around a fault and checks the outcome.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import random
import secrets
import socket
import threading
from collections.abc import Awaitable, Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any, Protocol

import httpx
import psycopg
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed, InvalidHandshake

from app.auth.principal import Principal
from tests.conftest import JWT_SECRET, token
from tests.support import report
from tests.support.jira import issue_event
from tests.support.server import ServerProcess, free_port, server_process

# Small enough that a subscriber that stops reading is found out quickly.
MAX_BUFFERED = 64 * 1024


class Cluster:
    """Several `ops-bridge serve` processes on one database."""

    def __init__(self, database_url: str) -> None:
        self.env = {
            "DATABASE_URL": database_url,
            "JWT_SECRET": JWT_SECRET,
            "LISTENER_POLL_INTERVAL": "0.5",
            "WS_MAX_BUFFERED_BYTES": str(MAX_BUFFERED),
            "WS_SOCKET_SEND_BUFFER_BYTES": "8192",
        }
        self._stack = contextlib.ExitStack()
        self.processes: dict[int, ServerProcess] = {}
        # What each process was started with beyond `env`, by port.
        self.overrides: dict[int, dict[str, str]] = {}

    def start(
        self, port: int | None = None, *, overrides: dict[str, str] | None = None, migrate: bool = False
    ) -> ServerProcess:
        """Another process, with `overrides` on top of `env`; `migrate`: it applies migrations on start."""
        env = {**self.env, **(overrides or {})}
        process = self._stack.enter_context(server_process(env, port or free_port(), migrate=migrate))
        self._add(process, overrides)
        return process

    def start_many(self, overrides: list[dict[str, str]], *, migrate_first: bool = False) -> list[ServerProcess]:
        """A process per entry of `overrides`, started side by side (each start is mostly waiting);
        with `migrate_first`, the first applies migrations on start while the others start."""
        lock = threading.Lock()

        def start(index: int) -> ServerProcess:
            env = {**self.env, **overrides[index]}
            manager = server_process(env, free_port(), migrate=migrate_first and index == 0)
            process = manager.__enter__()
            with lock:  # stopped with the cluster even if a sibling fails to start
                self._stack.push(manager)
                self._add(process, overrides[index])
            return process

        with ThreadPoolExecutor(len(overrides)) as pool:
            return list(pool.map(start, range(len(overrides))))

    def _add(self, process: ServerProcess, overrides: dict[str, str] | None) -> None:
        self.processes[process.port] = process
        self.overrides[process.port] = dict(overrides or {})

    def live(self) -> list[ServerProcess]:
        return [p for p in self.processes.values() if p.process.poll() is None]

    def kill(self, process: ServerProcess) -> None:
        process.kill()

    def close(self) -> None:
        self._stack.close()


class Reachable(Protocol):
    """Processes a client may go to: a whole cluster, or those of one role (tests/broker/)."""

    def live(self) -> list[ServerProcess]: ...


@dataclass
class OfRole:
    """The live processes of `cluster` started with ROLE=`role`."""

    cluster: Cluster
    role: str

    def live(self) -> list[ServerProcess]:
        return [p for p in self.cluster.live() if self.cluster.overrides[p.port].get("ROLE") == self.role]


@contextlib.contextmanager
def cluster(database_url: str, size: int) -> Iterator[Cluster]:
    running = Cluster(database_url)
    try:
        for _ in range(size):
            running.start()
        yield running
    finally:
        running.close()


@dataclass
class Subscriber:
    """A dashboard: follows the stream, and on any disconnect reconnects to a live
    process with the last id it saw."""

    name: str
    claims: dict[str, Any]
    cluster: Reachable
    received: list[int] = field(default_factory=list)
    seen: set[int] = field(default_factory=set)
    duplicates: int = 0
    out_of_order: int = 0
    closes: list[int | None] = field(default_factory=list)
    reconnects: int = 0
    small_receive_buffer: bool = False
    ws: ClientConnection | None = None
    reading: asyncio.Event = field(default_factory=asyncio.Event)
    connected: asyncio.Event = field(default_factory=asyncio.Event)
    progress: asyncio.Condition = field(default_factory=asyncio.Condition)

    def __post_init__(self) -> None:
        self.reading.set()
        self.token = token(sub=self.name, ttl=3600, **self.claims)

    @property
    def last(self) -> int | None:
        return self.received[-1] if self.received else None

    async def run(self) -> None:
        while True:
            try:
                await self._follow()
            except (OSError, ConnectionClosed, InvalidHandshake, TimeoutError) as exc:
                code = exc.rcvd.code if isinstance(exc, ConnectionClosed) and exc.rcvd else None
                self.closes.append(code)
            self.connected.clear()
            self.reconnects += 1
            # A dashboard backs off before reconnecting; a short pause keeps a
            # reconnect storm from spinning on a process that is going away.
            await asyncio.sleep(0.05)

    async def _follow(self) -> None:
        live = self.cluster.live()
        if not live:
            raise OSError("no live process")
        target = random.choice(live)
        url = target.ws if self.last is None else f"{target.ws}?last_event_id={self.last}"
        sock = None
        if self.small_receive_buffer:
            sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
            sock.connect(("127.0.0.1", target.port))
            sock.setblocking(False)
        async with connect(
            url,
            additional_headers={"Authorization": f"Bearer {self.token}"},
            open_timeout=5,
            max_queue=4,
            sock=sock,
        ) as ws:
            self.ws = ws
            hello = json.loads(await ws.recv())
            assert hello["type"] == "connection", hello
            self.connected.set()
            while True:
                await self.reading.wait()
                message = json.loads(await ws.recv())
                if "id" in message:
                    await self._record(message["id"])

    async def _record(self, position: int) -> None:
        if position in self.seen:
            self.duplicates += 1
            return
        if self.received and position < self.received[-1]:
            self.out_of_order += 1
        self.seen.add(position)
        self.received.append(position)
        async with self.progress:
            self.progress.notify_all()

    async def until(self, count: int) -> None:
        """Return once this subscriber holds `count` events."""
        async with self.progress:
            await self.progress.wait_for(lambda: len(self.received) >= count)


def principal_for(claims: dict[str, Any]) -> Principal:
    from app.auth.tokens import TokenVerifier, VerificationKey

    return TokenVerifier([VerificationKey(("HS256",), JWT_SECRET)]).verify(token(**claims))


class Sender:
    """Posts Jira deliveries at a steady rate to live processes, retrying a failed
    delivery with the same identifier until it is accepted, as Jira does."""

    def __init__(self, cluster: Reachable, rate: float, description_bytes: int = 0) -> None:
        self.cluster = cluster
        self.interval = 1.0 / rate
        # Incompressible, so a stalled reader's buffers fill whether or not it accepted deflate.
        self.description = secrets.token_urlsafe(description_bytes * 3 // 4) if description_bytes else ""
        self.accepted = 0
        self.retries = 0
        self.sent = 0
        self._numbers = itertools.count(1)
        self._progress = asyncio.Condition()

    async def until_accepted(self, count: int) -> None:
        """Return once `count` deliveries have been accepted."""
        async with self._progress:
            await self._progress.wait_for(lambda: self.accepted >= count)

    async def send(self, count: int, *, until: asyncio.Future[None] | None = None) -> None:
        """`count` deliveries, one every interval, each retried until accepted; and more, at the
        same pace, for as long as `until` is not done (a fault that outlasts them)."""
        loop = asyncio.get_running_loop()
        start = loop.time()
        async with httpx.AsyncClient(timeout=10) as http:
            deliveries = []
            for index in itertools.count():
                if index >= count and (until is None or until.done()):
                    break
                await asyncio.sleep(max(0.0, start + index * self.interval - loop.time()))
                deliveries.append(asyncio.create_task(self._deliver(http, next(self._numbers))))
            self.sent = len(deliveries)
            await asyncio.gather(*deliveries)

    async def _deliver(self, http: httpx.AsyncClient, number: int) -> None:
        body = issue_event(number, project="OPS" if number % 2 else "PAY")
        if self.description:
            body["issue"]["fields"]["description"] = self.description
        headers = {"X-Atlassian-Webhook-Identifier": f"fault-{number}"}
        while True:
            live = self.cluster.live()
            if live:
                target = random.choice(live)
                with contextlib.suppress(httpx.HTTPError):
                    response = await http.post(f"{target.http}/api/webhooks/jira", json=body, headers=headers)
                    if response.status_code == 200:
                        async with self._progress:
                            self.accepted += 1
                            self._progress.notify_all()
                        return
            self.retries += 1
            # Jira retries later too; the pause is the sender's, not a wait for an outcome.
            await asyncio.sleep(0.1)


def visible_events(database_url: str, principal: Principal) -> list[int]:
    with psycopg.connect(database_url) as conn:
        rows = conn.execute("SELECT position, squad, environment, audience FROM events ORDER BY position").fetchall()
    return [
        position
        for position, squad, environment, audience in rows
        if principal.may_see(squad, environment, frozenset(audience) if audience is not None else None)
    ]


@dataclass
class Tally:
    fault: str
    sent: int
    expected: int
    received: int
    lost: int
    duplicated: int
    out_of_order: int
    reconnects: int

    def row(self) -> str:
        return (
            f"{self.fault:<28} {self.sent:>6} {self.expected:>9} {self.received:>9} "
            f"{self.lost:>5} {self.duplicated:>5} {self.out_of_order:>5} {self.reconnects:>6}"
        )


HEADER = f"{'fault':<28} {'sent':>6} {'expected':>9} {'received':>9} {'lost':>5} {'dup':>5} {'order':>5} {'reconn':>6}"


FAULT_SECTION = "delivery under faults: every subscriber, every event"

CLAIMS: list[dict[str, Any]] = [
    {"roles": ("admin",), "squads": (), "environments": ()},
    {"squads": ("ops",), "environments": ()},
    {"squads": ("pay",), "environments": ()},
    {"squads": ("ops", "pay"), "environments": ()},
    {"squads": (), "environments": ("production",)},  # Jira issues carry no environment: sees none
    {"squads": ("*",), "environments": ("*",)},
]
SUBSCRIBERS = 24

Fault = Callable[[Cluster, list[Subscriber], Sender], Awaitable[None]]


async def stream_through(
    running: Cluster,
    database_url: str,
    name: str,
    fault: Fault,
    *,
    deliveries: int,
    rate: float,
    description_bytes: int = 0,
    first_reads_slowly: bool = False,
    while_fault_runs: bool = False,
    subscribe_to: Reachable | None = None,
    send_to: Reachable | None = None,
) -> list[Subscriber]:
    """Two dozen subscribers with different claims on `running`, a steady stream of
    `deliveries` Jira deliveries (and more for as long as `fault` runs, when
    `while_fault_runs`), `fault` injected meanwhile; then every subscriber must hold
    exactly the events its claims let it see, once each and in order, and every
    delivery must be stored once. The figures go to the run's report."""
    subscribe_to, send_to = subscribe_to or running, send_to or running
    subscribers = [Subscriber(f"sub-{i}", CLAIMS[i % len(CLAIMS)], subscribe_to) for i in range(SUBSCRIBERS)]
    subscribers[0].small_receive_buffer = first_reads_slowly
    following = [asyncio.create_task(s.run()) for s in subscribers]
    try:
        async with asyncio.timeout(30):
            await asyncio.gather(*(s.connected.wait() for s in subscribers))
        sender = Sender(send_to, rate, description_bytes)
        injected = asyncio.ensure_future(fault(running, subscribers, sender))
        await asyncio.gather(sender.send(deliveries, until=injected if while_fault_runs else None), injected)
        expected = {s.name: visible_events(database_url, principal_for(s.claims)) for s in subscribers}
        async with asyncio.timeout(60):
            await asyncio.gather(*(s.until(len(expected[s.name])) for s in subscribers))
    finally:
        for task in following:
            task.cancel()
        await asyncio.gather(*following, return_exceptions=True)
    tally = _tally(name, sender, subscribers, expected)
    if not report.SECTIONS[FAULT_SECTION]:
        report.add(FAULT_SECTION, HEADER)
    report.add(FAULT_SECTION, tally.row())
    _assert_stored_exactly_once(database_url, sender.sent)
    assert (tally.lost, tally.duplicated, tally.out_of_order) == (0, 0, 0), tally
    for subscriber in subscribers:
        assert subscriber.received == expected[subscriber.name], subscriber.name
    return subscribers


def _tally(name: str, sender: Sender, subscribers: list[Subscriber], expected: dict[str, list[int]]) -> Tally:
    lost = sum(len(set(expected[s.name]) - s.seen) for s in subscribers)
    return Tally(
        fault=name,
        sent=sender.accepted,
        expected=sum(len(v) for v in expected.values()),
        received=sum(len(s.received) for s in subscribers),
        lost=lost,
        duplicated=sum(s.duplicates for s in subscribers),
        out_of_order=sum(s.out_of_order for s in subscribers),
        reconnects=sum(s.reconnects for s in subscribers),
    )


def _assert_stored_exactly_once(database_url: str, deliveries: int) -> None:
    """Every delivery stored once, with exactly one event: nothing half-written, nothing doubled."""
    with psycopg.connect(database_url) as conn:
        incidents = conn.execute("SELECT count(*) FROM incidents").fetchone()
        events = conn.execute("SELECT count(*), count(DISTINCT message->'data'->>'id') FROM events").fetchone()
        applied = conn.execute("SELECT count(*) FROM webhook_deliveries WHERE outcome = 'applied'").fetchone()
    assert incidents == (deliveries,)
    assert events == (deliveries, deliveries)
    assert applied == (deliveries,)
