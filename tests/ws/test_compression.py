"""permessage-deflate: negotiated without context takeover, each event compressed
once, and the same compressed frame sent to every connection that accepted it."""

from __future__ import annotations

import asyncio

import httpx
from websockets.client import ClientProtocol
from websockets.extensions.permessage_deflate import ClientPerMessageDeflateFactory
from websockets.frames import Frame, Opcode
from websockets.uri import parse_uri

from tests.conftest import token
from tests.support.clients import open_stream, receive, receive_events
from tests.support.jira import issue_event
from tests.support.server import RunningServer

LONG = "checkout latency above target on every pod " * 40


def _long_incident(number: int) -> dict[str, object]:
    body = issue_event(number)
    body["issue"]["fields"]["description"] = LONG
    return body


async def _wire_bytes(port: int, deflate: bool, http: httpx.AsyncClient, number: int) -> tuple[int, str]:
    """Bytes on the wire for the confirmation and one long incident, and the extensions negotiated."""
    extensions = [ClientPerMessageDeflateFactory()] if deflate else None
    protocol = ClientProtocol(parse_uri(f"ws://127.0.0.1:{port}/api/ws"), extensions=extensions)
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    request = protocol.connect()
    request.headers["Authorization"] = f"Bearer {token()}"
    protocol.send_request(request)
    writer.write(b"".join(protocol.data_to_send()))
    texts: list[str] = []
    wire = 0
    try:
        async with asyncio.timeout(10):
            while not any('"description"' in text for text in texts):
                data = await reader.read(65536)
                if not data:
                    exc = protocol.handshake_exc
                    detail = getattr(getattr(exc, "response", None), "body", b"")
                    raise AssertionError(f"connection closed early: {exc} {detail!r}")
                protocol.receive_data(data)
                for event in protocol.events_received():
                    if isinstance(event, Frame) and event.opcode == Opcode.TEXT:
                        if not texts:
                            await http.post("/api/webhooks/jira", json=_long_incident(number))
                        texts.append(bytes(event.data).decode())
                    elif not isinstance(event, Frame):
                        continue
                wire += len(data)
    finally:
        writer.close()
        await writer.wait_closed()
    return wire, str(protocol.extensions)


async def test_a_long_event_arrives_compressed_to_a_client_that_accepted_deflate(
    server: RunningServer, http: httpx.AsyncClient
) -> None:
    async with await open_stream(server.ws, token()) as plain_reader:  # the library client, deflate on
        await receive(plain_reader)
        await http.post("/api/webhooks/jira", json=_long_incident(2))
        [event] = await receive_events(plain_reader, 1)

    assert event["data"]["description"] == LONG.strip()


async def test_the_wire_carries_a_compressed_frame_only_where_deflate_was_negotiated(
    server: RunningServer, http: httpx.AsyncClient
) -> None:
    deflated, extensions = await _wire_bytes(server.port, True, http, 3)
    plain, none = await _wire_bytes(server.port, False, http, 4)

    assert "remote_no_context_takeover=True, local_no_context_takeover=True" in extensions
    assert none == "[]"
    assert deflated < plain // 2
