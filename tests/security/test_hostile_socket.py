"""Hostile WebSocket clients at the edge (issue 13, items 2 and 3; docs/security.md,
"Hostile traffic"): against `ops-bridge serve` in its own process, on real sockets,
asserting closes, answer codes and the process's memory, never timings."""

from __future__ import annotations

import asyncio
import contextlib
import json
from pathlib import Path

import pytest
from websockets.frames import Opcode

from tests.conftest import JWT_SECRET, token
from tests.support.edge import (
    close_code,
    exchange,
    frames_until_closed,
    handshake,
    masked_pings,
    open_raw_stream,
    rss_bytes,
)
from tests.support.server import server_process

MiB = 1024 * 1024


@pytest.mark.timeout(300)
async def test_a_ping_flood_from_a_client_that_never_reads_is_cut_off(database_url: str, tmp_path: Path) -> None:
    # A viewer that never reads and sends a million pings grew the process by 120 MiB
    # (a pong queued for each) and was never evicted.
    loop = asyncio.get_running_loop()
    env = {"DATABASE_URL": database_url, "JWT_SECRET": JWT_SECRET}
    with server_process(env, cwd=str(tmp_path)) as running:
        protocol, sock = await open_raw_stream(running.port, token(sub="viewer"))
        before = rss_bytes(running.process.pid)
        batch, sent = masked_pings(10_000), 0
        async with asyncio.timeout(120):
            with contextlib.suppress(ConnectionError):
                while sent < 1_000_000:  # stops early once the server drops the connection
                    await loop.sock_sendall(sock, batch)
                    sent += 10_000
        growth = rss_bytes(running.process.pid) - before
        frames = await frames_until_closed(protocol, sock)
        sock.close()

    pongs = [frame for frame in frames if frame.opcode is Opcode.PONG]
    assert frames
    assert frames[-1].opcode is Opcode.CLOSE
    assert close_code(frames[-1]) == 1008  # over its message budget
    assert len(pongs) <= 100
    # Before the bound: +114-120 MiB and never closed. Measured since: 1-10 MiB (allocator arenas of the
    # frames read before the budget ran out, more of them on a loaded machine).
    assert growth < 32 * MiB, f"RSS grew by {growth / MiB:.1f} MiB"


@pytest.mark.parametrize(
    "extra",
    [{"Cookie": "session=" + "c" * 9 * 1024}, {f"X-Extra-{n}": "v" for n in range(130)}],
    ids=["9 KiB cookie", "130 extra headers"],
)
async def test_a_handshake_with_big_headers_is_answered_and_closed(
    database_url: str, tmp_path: Path, extra: dict[str, str]
) -> None:
    # The WebSocket library refused these with a 431 it queued and nobody wrote: the
    # client (a browser with big cookies) hung.
    env = {"DATABASE_URL": database_url, "JWT_SECRET": JWT_SECRET}
    with server_process(env, cwd=str(tmp_path)) as running:
        _, opening = handshake(running.port, token(), **extra)
        answer = await exchange(running.port, opening)

    assert answer.status == 431
    assert json.loads(answer.body)["error"]["code"] == "HEADERS_TOO_LARGE"
