"""Hostile HTTP at the edge (issue 13, items 1 and 3; docs/security.md, "Hostile traffic"):
each attack against `ops-bridge serve` in its own process, on a real socket, asserting
answer codes, closes and the process's memory, never timings."""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.conftest import JWT_SECRET
from tests.support.edge import exchange, read_answer, rss_bytes
from tests.support.server import ServerProcess, server_process

MiB = 1024 * 1024
_CHUNK = b"a" * (64 * 1024)


@contextlib.contextmanager
def _serving(database_url: str, tmp_path: Path, **settings: str) -> Iterator[ServerProcess]:
    env = {"DATABASE_URL": database_url, "JWT_SECRET": JWT_SECRET, **settings}
    with server_process(env, cwd=str(tmp_path)) as running:
        yield running


async def _send_header(port: int, size: int) -> tuple[int, int | None]:
    """One request with a header of `size` bytes: how much was sent, and the answer's status."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    sent = 0
    try:
        writer.write(b"GET /healthz HTTP/1.1\r\nhost: x\r\nx-big: ")
        while sent < size:
            writer.write(_CHUNK)
            await writer.drain()
            sent += len(_CHUNK)
        writer.write(b"\r\n\r\n")
        await writer.drain()
    except ConnectionError:
        pass
    try:
        answer = await read_answer(reader, timeout=120)
    finally:
        writer.close()
    return sent, answer.status


@pytest.mark.timeout(300)
async def test_a_huge_header_is_refused_as_it_arrives_and_stalls_nobody(database_url: str, tmp_path: Path) -> None:
    # 128 MiB in one header: uvicorn joined its chunks again and again (quadratic), which
    # held the whole process for seconds, and then accepted it.
    with _serving(database_url, tmp_path) as running:
        big = asyncio.create_task(_send_header(running.port, 128 * MiB))
        async with httpx.AsyncClient(base_url=running.http, timeout=120) as http:
            meanwhile = await http.get("/healthz")
        sent, status = await big

    assert meanwhile.status_code == 200
    assert status in (431, None)  # answered 431, or reset while still sending
    assert sent < 16 * MiB  # refused long before the end: the head is capped as it arrives


@pytest.mark.timeout(300)
async def test_huge_headers_leave_the_process_no_bigger(database_url: str, tmp_path: Path) -> None:
    # Four 32 MiB headers once left the process 200 MiB bigger for good.
    with _serving(database_url, tmp_path) as running:
        async with httpx.AsyncClient(base_url=running.http) as http:
            assert (await http.get("/healthz")).status_code == 200
            before = rss_bytes(running.process.pid)
            outcomes = [await _send_header(running.port, 32 * MiB) for _ in range(4)]
            assert (await http.get("/healthz")).status_code == 200
            growth = rss_bytes(running.process.pid) - before

    assert [status for _, status in outcomes if status is not None] == [431] * sum(
        1 for _, status in outcomes if status is not None
    )
    assert growth < 8 * MiB, f"RSS grew by {growth / MiB:.1f} MiB"


async def test_twenty_thousand_headers_are_refused_with_431(database_url: str, tmp_path: Path) -> None:
    headers = b"".join(b"x-h%d: v\r\n" % n for n in range(20_000))
    with _serving(database_url, tmp_path) as running:
        answer = await exchange(running.port, b"GET /healthz HTTP/1.1\r\nhost: x\r\n" + headers + b"\r\n")
        few = await exchange(running.port, b"GET /healthz HTTP/1.1\r\nhost: x\r\nconnection: close\r\n\r\n")

    assert answer.status == 431
    assert json.loads(answer.body)["error"]["code"] == "HEADERS_TOO_LARGE"
    assert b"connection: close" in answer.head
    assert few.status == 200


async def test_slow_clients_are_answered_408_and_closed(database_url: str, tmp_path: Path) -> None:
    # An idle connection, a head trickled a line at a time, a body announced and never
    # sent: each was held for minutes.
    with _serving(database_url, tmp_path, HTTP_HEADER_TIMEOUT_SECONDS="1", HTTP_BODY_TIMEOUT_SECONDS="1") as running:
        idle = await exchange(running.port, b"")
        reader, writer = await asyncio.open_connection("127.0.0.1", running.port)
        trickled = asyncio.create_task(read_answer(reader))
        with contextlib.suppress(ConnectionError):
            for line in (b"GET /healthz HTTP/1.1\r\n", *(b"x-%d: v\r\n" % n for n in range(100))):
                if trickled.done():
                    break
                writer.write(line)
                await writer.drain()
                await asyncio.sleep(0.3)  # the attack itself: a line every so often
        slow_head = await trickled
        writer.close()
        no_body = await exchange(
            running.port,
            b"POST /api/webhooks/alerts HTTP/1.1\r\nhost: x\r\ncontent-type: application/json\r\n"
            b"content-length: 1000\r\n\r\n{",
        )
        async with httpx.AsyncClient(base_url=running.http) as http:
            assert (await http.get("/healthz")).status_code == 200
        running.terminate()

    assert [idle.status, slow_head.status, no_body.status] == [408, 408, 408]
    assert json.loads(no_body.body)["error"]["code"] == "REQUEST_TIMEOUT"
    log = "".join(running.output)
    assert "Exception in ASGI application" not in log
    assert "Traceback" not in log


async def test_a_body_cut_short_reaches_the_endpoint_as_a_request_error_not_a_500(
    database_url: str, tmp_path: Path
) -> None:
    # A client that announced a body and went away half-way made the endpoint raise
    # ClientDisconnect: a 500 and a traceback in the log.
    with _serving(database_url, tmp_path) as running:
        for path in ("/api/webhooks/alerts", "/api/webhooks/jira", "/api/notifications"):
            _, writer = await asyncio.open_connection("127.0.0.1", running.port)
            writer.write(
                b"POST " + path.encode() + b" HTTP/1.1\r\nhost: x\r\ncontent-type: application/json\r\n"
                b"content-length: 100000\r\n\r\n" + b"[" * 70_000
            )
            await writer.drain()
            writer.close()
            await writer.wait_closed()
        async with httpx.AsyncClient(base_url=running.http) as http:
            assert (await http.get("/healthz")).status_code == 200
        running.terminate()

    log = "".join(running.output)
    assert "Exception in ASGI application" not in log
    assert "Traceback" not in log


async def test_connections_past_the_cap_are_answered_503(database_url: str, tmp_path: Path) -> None:
    with _serving(database_url, tmp_path, MAX_CONNECTIONS="20") as running:
        held = [await asyncio.open_connection("127.0.0.1", running.port) for _ in range(20)]
        over = await exchange(running.port, b"GET /healthz HTTP/1.1\r\nhost: x\r\n\r\n")
        for _, writer in held:
            writer.close()

    assert over.status == 503
    assert json.loads(over.body)["error"]["code"] == "SERVER_BUSY"
