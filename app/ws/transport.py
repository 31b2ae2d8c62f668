"""uvicorn's WebSocket protocol, with a direct line to the transport for fan-out.

Through ASGI every frame costs a task wake-up and an `await send(...)` per
socket, a blocked send cannot be abandoned, and a slow reader cannot be cut
off with a close code. This subclass of uvicorn's sans-I/O implementation
hands the application a `FrameSink` in the scope's extensions: the hub writes
pre-built frames straight to the transport, reads how much is still buffered,
and closes a connection with a code even when its reader has stopped reading.
Everything else (handshake, keepalive pings, inbound frames, limits) is
uvicorn's.

`ops-bridge serve` installs it; `/api/ws` refuses to run without it.
"""

from __future__ import annotations

import logging
import socket
from collections.abc import MutableMapping
from typing import Any

from uvicorn.config import Config
from uvicorn.protocols.websockets.websockets_sansio_impl import WebSocketsSansIOProtocol
from websockets.extensions.permessage_deflate import PerMessageDeflate, ServerPerMessageDeflateFactory
from websockets.server import ServerProtocol

from app.events.model import DEFLATE_WINDOW_BITS

EXTENSION = "ops_bridge.frame_sink"

GOING_AWAY = 1001
# How long a closed connection may take to read its backlog and answer the
# close frame before the socket is dropped.
_CLOSE_GRACE_SECONDS = 5.0


class FrameSink:
    """Write whole frames to one connection, in call order, without awaiting."""

    __slots__ = ("_protocol",)

    def __init__(self, protocol: BridgeWebSocketProtocol) -> None:
        self._protocol = protocol

    @property
    def deflate(self) -> bool:
        """Whether the peer accepted the shared compressed frames (permessage-deflate,
        with a window at least as large as the one they are made with)."""
        return any(
            isinstance(extension, PerMessageDeflate) and extension.local_max_window_bits >= DEFLATE_WINDOW_BITS
            for extension in self._protocol.conn.extensions
        )

    @property
    def closed(self) -> bool:
        p = self._protocol
        return p.close_sent or p.disconnected or p.transport.is_closing()

    def write(self, frame: bytes) -> None:
        if not self.closed:
            self._protocol.transport.write(frame)

    def buffered(self) -> int:
        return self._protocol.transport.get_write_buffer_size()

    def limit_kernel_buffer(self, size: int) -> None:
        """Cap the kernel's send buffer for this socket (0: leave the OS default).

        The kernel may otherwise take megabytes for a reader that has stopped,
        which then count against no limit of ours and hide a slow consumer."""
        sock = self._protocol.transport.get_extra_info("socket")
        if size and sock is not None:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, size)

    async def drained(self) -> None:
        """Wait until the transport has room again (or the connection is gone)."""
        await self._protocol.writable.wait()

    def close(self, code: int, reason: str) -> None:
        """Send a close frame after whatever is buffered, and drop the socket if the
        peer does not answer in time: works whether or not the peer reads."""
        p = self._protocol
        if self.closed:
            return
        p.conn.send_close(code, reason)
        p.transport.write(b"".join(p.conn.data_to_send()))
        p.close_sent = True
        p.queue.put_nowait({"type": "websocket.disconnect", "code": code, "reason": reason})
        if p.read_paused:
            p.read_paused = False
            p.transport.resume_reading()
        p.close_timer = p.loop.call_later(_CLOSE_GRACE_SECONDS, p.transport.abort)


class BridgeWebSocketProtocol(WebSocketsSansIOProtocol):
    def __init__(self, config: Config, *args: Any, **kwargs: Any) -> None:
        super().__init__(config, *args, **kwargs)
        if config.ws_per_message_deflate:
            # No context takeover either way: no compressor or decompressor
            # lives per connection between messages (tens of KiB each), and
            # one compressed frame per event serves every connection.
            self.conn = ServerProtocol(
                extensions=[
                    ServerPerMessageDeflateFactory(
                        server_no_context_takeover=True,
                        client_no_context_takeover=True,
                        server_max_window_bits=DEFLATE_WINDOW_BITS,
                        compress_settings={"memLevel": 5},
                    )
                ],
                max_size=config.ws_max_size,
                logger=logging.getLogger("uvicorn.error"),
            )

    def handle_connect(self, event: Any) -> None:
        super().handle_connect(event)
        # The ASGI task was created but has not run yet: the scope can still be
        # given its extension.
        scope = getattr(self, "scope", None)
        if scope is not None:
            scope["extensions"][EXTENSION] = {"sink": FrameSink(self)}

    async def send(self, message: Any) -> None:
        await super().send(message)
        if message["type"] == "websocket.accept":
            # The handshake's request and response are not needed again, and
            # a connection may stay open for hours.
            self.request = self.response = None  # type: ignore[assignment]
        elif message["type"] == "websocket.http.response.body" and not message.get("more_body", False):
            # A refused handshake (401/403/429) is a complete answer: without
            # this, uvicorn logs an error for every one it sends.
            self.handshake_complete = True

    def shutdown(self) -> None:
        """Server shutdown: close with 1001 (going away) so clients resume elsewhere,
        where uvicorn would send 1012."""
        if self.handshake_complete and not self.close_sent and not self.disconnected:
            self.stop_keepalive()
            self.queue.put_nowait({"type": "websocket.disconnect", "code": GOING_AWAY})
            self.conn.send_close(GOING_AWAY, "server shutting down: resume elsewhere")
            self.transport.write(b"".join(self.conn.data_to_send()))
            self.close_sent = True
            self.close_timer = self.loop.call_later(_CLOSE_GRACE_SECONDS, self.transport.abort)
            return
        super().shutdown()


def frame_sink(scope: MutableMapping[str, Any]) -> FrameSink | None:
    extension = scope.get("extensions", {}).get(EXTENSION)
    return extension["sink"] if extension else None
