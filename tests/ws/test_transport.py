"""The WebSocket transport's own limits (app/ws/transport.py), on real sockets: what a
connection may leave unsent whatever the server writes, a keepalive timeout that does
not wait for a buffer that never drains, and a handshake that is always answered."""

from __future__ import annotations

import asyncio
import contextlib
import json
from pathlib import Path
from typing import Any

from starlette.types import Receive, Scope, Send
from websockets.frames import Opcode

from tests.conftest import make_settings, token
from tests.support.edge import (
    exchange,
    frames_until_closed,
    handshake,
    masked_text,
    open_raw_stream,
    wait_hung_up,
)
from tests.support.server import server_in_thread

# Small kernel buffers on both sides: what the peer does not read stays in the transport.
_SMALL = {"ws_socket_send_buffer_bytes": 4096}


async def test_answers_a_client_never_reads_are_bounded_like_events(database_url: str, tmp_path: Path) -> None:
    # Only events were checked against WS_MAX_BUFFERED_BYTES: pongs, acknowledgements
    # and errors to a client that never reads piled up without bound.
    settings = make_settings(
        database_url, tmp_path, ws_max_buffered_bytes=16 * 1024, ws_rate_limit_per_minute=100_000, **_SMALL
    )
    loop = asyncio.get_running_loop()
    with server_in_thread(settings) as running:
        protocol, sock = await open_raw_stream(running.port, token(), receive_buffer=4096)
        requests = b"".join(masked_text(json.dumps({"action": "ping", "id": n})) for n in range(3000))
        await loop.sock_sendall(sock, requests)
        frames = await frames_until_closed(protocol, sock)
        sock.close()

    pongs = [f for f in frames if f.opcode is Opcode.TEXT and json.loads(bytes(f.data)).get("action") == "pong"]
    assert frames[-1].opcode is Opcode.CLOSE
    assert int.from_bytes(frames[-1].data[:2], "big") == 4008
    assert len(pongs) < 3000  # cut off, not served to the end


async def test_a_keepalive_timeout_drops_a_peer_that_stopped_reading(database_url: str, tmp_path: Path) -> None:
    # uvicorn's keepalive timeout closed gracefully, which waits for the write buffer to
    # drain: a peer that stopped reading with answers queued was kept for good.
    settings = make_settings(
        database_url, tmp_path, ws_ping_interval=0.3, ws_ping_timeout=0.3, ws_rate_limit_per_minute=100_000, **_SMALL
    )
    loop = asyncio.get_running_loop()
    with server_in_thread(settings) as running:
        _, sock = await open_raw_stream(running.port, token(), receive_buffer=4096)
        # Answers well past what the kernel buffers hold, under WS_MAX_BUFFERED_BYTES (1 MiB).
        requests = b"".join(masked_text(json.dumps({"action": "ping", "id": n})) for n in range(1500))
        await loop.sock_sendall(sock, requests)
        # And more, which the server no longer reads (its writing is paused): when it drops
        # the socket, that unread data makes the kernel reset the connection.
        more = asyncio.create_task(loop.sock_sendall(sock, requests * 20))
        hung_up = await asyncio.to_thread(wait_hung_up, sock, 30.0)
        more.cancel()
        with contextlib.suppress(asyncio.CancelledError, ConnectionError):
            await more
        sock.close()

    assert hung_up


async def _never_answers(scope: Scope, receive: Receive, send: Send) -> None:
    # A stand-in application that takes a handshake and never decides on it.
    if scope["type"] == "lifespan":
        while (await receive())["type"] != "lifespan.shutdown":
            await send({"type": "lifespan.startup.complete"})
        await send({"type": "lifespan.shutdown.complete"})
        return
    await asyncio.Event().wait()


async def test_a_handshake_the_application_does_not_answer_in_time_is_answered_503(
    database_url: str, tmp_path: Path
) -> None:
    settings = make_settings(database_url, tmp_path, ws_handshake_timeout_seconds=0.5)
    with server_in_thread(settings, app=_never_answers) as running:
        _, opening = handshake(running.port, token())
        answer = await exchange(running.port, opening)

    body: dict[str, Any] = json.loads(answer.body)
    assert (answer.status, body["error"]["code"]) == (503, "HANDSHAKE_TIMEOUT")
