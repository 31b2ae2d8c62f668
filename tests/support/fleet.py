"""A fleet with roles (docs/deployment.md#roles): Redis, and `ops-bridge serve` processes
started as ingest, relay and edge on one database, for the broker's tests and bench.

Processes are told their role by ROLE, which is what `serve --role` sets.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Iterator
from dataclasses import dataclass

import httpx

from tests.support.faults import Cluster, OfRole
from tests.support.redis import RedisServer, redis_server
from tests.support.scrape import Scrape
from tests.support.server import ServerProcess


@dataclass
class Fleet:
    cluster: Cluster
    redis: RedisServer

    def of(self, role: str) -> OfRole:
        return OfRole(self.cluster, role)

    def start(self, role: str) -> ServerProcess:
        return self.cluster.start(overrides={"ROLE": role})

    async def active_relay(self) -> ServerProcess:
        """The relay that holds the lock, once one does (and publishes)."""
        async with httpx.AsyncClient(timeout=5) as http:
            while True:
                for relay in self.of("relay").live():
                    body = (await http.get(f"{relay.http}/readyz")).json()
                    if body.get("relay", {}).get("leading") and body["status"] == "ready":
                        return relay
                await asyncio.sleep(0.1)  # leadership is another process's state: asked, not awaited

    async def wait_ready(self, role: str) -> None:
        async with httpx.AsyncClient(timeout=5) as http:
            for process in self.of(role).live():
                while (await http.get(f"{process.http}/readyz")).status_code != 200:  # noqa: ASYNC110
                    await asyncio.sleep(0.1)  # readiness is another process's state: asked, not awaited


@contextlib.contextmanager
def fleet(database_url: str, *, ingest: int = 1, relays: int = 2, edges: int = 2) -> Iterator[Fleet]:
    with redis_server() as redis, contextlib.closing(Cluster(database_url)) as running:
        running.env["BROKER_URL"] = redis.url
        roles = ["relay"] * relays + ["edge"] * edges + ["ingest"] * ingest
        running.start_many([{"ROLE": role} for role in roles])
        yield Fleet(running, redis)


async def scrape_process(process: ServerProcess) -> Scrape:
    async with httpx.AsyncClient(timeout=5) as http:
        response = await http.get(f"{process.http}/metrics")
        assert response.status_code == 200, response.text
        return Scrape(response.text)


async def log_reads(processes: list[ServerProcess]) -> float:
    """Live-event reads of the event log these processes made (listener's and edges' gap reads)."""
    total = 0.0
    for process in processes:
        found = await scrape_process(process)
        total += found.value("ops_bridge_event_log_reads_total", reader="listener")
        total += found.value("ops_bridge_event_log_reads_total", reader="edge_gap")
    return total
