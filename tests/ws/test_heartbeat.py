"""Server pings, and what happens to a peer that stops answering them."""

from __future__ import annotations

import asyncio
from pathlib import Path

from websockets.client import ClientProtocol
from websockets.frames import Frame, Opcode
from websockets.protocol import State
from websockets.uri import parse_uri

from tests.conftest import make_settings, token
from tests.support.clients import open_stream, receive
from tests.support.server import server_in_thread


async def test_a_peer_that_never_answers_pings_is_dropped_and_one_that_does_stays(
    database_url: str, tmp_path: Path
) -> None:
    settings = make_settings(database_url, tmp_path, ws_ping_interval=0.3, ws_ping_timeout=0.3)
    with server_in_thread(settings) as running:
        async with await open_stream(running.ws, token()) as answering:
            await receive(answering)
            frames = await _silent_peer(running.port)
            # The library client answers pings: after the silent one was dropped
            # (several intervals), it still gets a pong for its own ping.
            await answering.send('{"action": "ping"}')
            assert (await receive(answering))["action"] == "pong"

    kinds = [frame.opcode for frame in frames]
    assert Opcode.PING in kinds
    assert kinds[-1] == Opcode.CLOSE
    assert frames[-1].data[:2] == (1011).to_bytes(2, "big")


async def _silent_peer(port: int) -> list[Frame]:
    """A client that completes the handshake, reads everything, and never sends a pong."""
    protocol = ClientProtocol(parse_uri(f"ws://127.0.0.1:{port}/api/ws"))
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    request = protocol.connect()
    request.headers["Authorization"] = f"Bearer {token()}"
    protocol.send_request(request)
    writer.write(b"".join(protocol.data_to_send()))
    frames: list[Frame] = []
    async with asyncio.timeout(10):
        while data := await reader.read(65536):
            protocol.receive_data(data)
            # Events are consumed, but nothing is ever written back: no pong.
            frames.extend(event for event in protocol.events_received() if isinstance(event, Frame))
            protocol.data_to_send()
            if protocol.state is State.CLOSED:
                break
    writer.close()
    return frames
