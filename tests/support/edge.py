"""Hostile clients at the edge: raw sockets that send what no library would, and read
what the server answers (or notice that it hung up) without reading more than asked."""

from __future__ import annotations

import asyncio
import select
import socket
from dataclasses import dataclass

from websockets.client import ClientProtocol
from websockets.frames import Frame, Opcode
from websockets.uri import parse_uri

ANSWER_TIMEOUT = 20.0


def rss_bytes(pid: int) -> int:
    """A process's resident set size, from /proc."""
    with open(f"/proc/{pid}/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
    raise RuntimeError(f"no VmRSS for process {pid}")


@dataclass
class Answer:
    status: int | None  # None: the connection ended with no answer
    head: bytes
    body: bytes


async def read_answer(reader: asyncio.StreamReader, timeout: float = ANSWER_TIMEOUT) -> Answer:
    """The HTTP response on `reader` (a `connection: close` one is read to the end)."""
    async with asyncio.timeout(timeout):
        try:
            head = await reader.readuntil(b"\r\n\r\n")
        except (asyncio.IncompleteReadError, ConnectionError):
            return Answer(None, b"", b"")
        length = next(
            (
                int(line.split(b":", 1)[1])
                for line in head.split(b"\r\n")
                if line.lower().startswith(b"content-length:")
            ),
            0,
        )
        body = await reader.readexactly(length) if length else b""
    return Answer(int(head.split(b" ", 2)[1]), head, body)


async def exchange(port: int, request: bytes, timeout: float = ANSWER_TIMEOUT) -> Answer:
    """Send `request` whole, then read the answer."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    try:
        writer.write(request)
        await writer.drain()
        return await read_answer(reader, timeout)
    finally:
        writer.close()


def wait_hung_up(sock: socket.socket, timeout: float) -> bool:
    """Block until the peer closes or resets `sock`, reading nothing; False if it has not in `timeout`."""
    poller = select.poll()
    poller.register(sock.fileno(), select.POLLRDHUP)
    return bool(poller.poll(int(timeout * 1000)))


def handshake(port: int, token: str, **headers: str) -> tuple[ClientProtocol, bytes]:
    """A client protocol for /api/ws and the bytes of its opening handshake."""
    protocol = ClientProtocol(parse_uri(f"ws://127.0.0.1:{port}/api/ws"), max_size=None)
    request = protocol.connect()
    request.headers["Authorization"] = f"Bearer {token}"
    for name, value in headers.items():
        request.headers[name] = value
    protocol.send_request(request)
    return protocol, b"".join(protocol.data_to_send())


async def open_raw_stream(port: int, token: str, *, receive_buffer: int = 0) -> tuple[ClientProtocol, socket.socket]:
    """A WebSocket that reads only when told to: the handshake done, nothing after it taken
    from the kernel (no stream buffer in between)."""
    loop = asyncio.get_running_loop()
    sock = socket.socket()
    if receive_buffer:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, receive_buffer)
    sock.setblocking(False)
    await loop.sock_connect(sock, ("127.0.0.1", port))
    protocol, opening = handshake(port, token)
    await loop.sock_sendall(sock, opening)
    async with asyncio.timeout(ANSWER_TIMEOUT):
        while protocol.handshake_exc is None and not _opened(protocol):
            data = await loop.sock_recv(sock, 1)  # byte by byte: nothing after the handshake is taken
            if not data:
                raise ConnectionError("closed during the handshake")
            protocol.receive_data(data)
    if protocol.handshake_exc is not None:
        raise protocol.handshake_exc
    return protocol, sock


def _opened(protocol: ClientProtocol) -> bool:
    return any(True for _ in protocol.events_received())


async def frames_until_closed(
    protocol: ClientProtocol, sock: socket.socket, timeout: float = ANSWER_TIMEOUT
) -> list[Frame]:
    """Read every frame until the server's close frame, or the end of the connection."""
    loop = asyncio.get_running_loop()
    frames: list[Frame] = []
    async with asyncio.timeout(timeout):
        while True:
            try:
                data = await loop.sock_recv(sock, 65536)
            except ConnectionError:
                return frames
            if not data:
                return frames
            protocol.receive_data(data)
            protocol.data_to_send()  # the client answers nothing
            for event in protocol.events_received():
                if isinstance(event, Frame):
                    frames.append(event)
                    if event.opcode is Opcode.CLOSE:
                        return frames


def close_code(frame: Frame) -> int:
    return int.from_bytes(frame.data[:2], "big")


def masked_pings(count: int) -> bytes:
    """`count` client ping frames (masked, empty payload), as raw bytes."""
    # FIN + ping opcode; mask bit with length 0; a zero masking key.
    return b"\x89\x80\x00\x00\x00\x00" * count


def masked_text(text: str) -> bytes:
    """One client text frame, masked with a zero key (which leaves the payload as is)."""
    payload = text.encode()
    assert len(payload) < 126
    return bytes([0x81, 0x80 | len(payload)]) + b"\x00\x00\x00\x00" + payload
