"""uvicorn's WebSocket protocol, with a direct line to the transport for fan-out,
and the one place that bounds what a connection may leave unsent.

Through ASGI every frame costs a task wake-up and an `await send(...)` per
socket, a blocked send cannot be abandoned, and a slow reader cannot be cut
off with a close code. This subclass of uvicorn's sans-I/O implementation
hands the application a `FrameSink` in the scope's extensions: the hub writes
pre-built frames straight to the transport and closes a connection with a
code even when its reader has stopped reading.

Whatever the server writes (events, acknowledgements, errors, pongs, pings),
once the transport holds more than `WS_MAX_BUFFERED_BYTES` unsent the
connection is closed with `SLOW_CONSUMER` (4008) and dropped if that close
cannot be written in time. A client that never reads cannot make the server
queue answers forever either: reading stops while writing is paused, control
frames it sends (pings, unsolicited pongs) spend its message budget like
requests, and the keepalive timeout drops the socket after its grace rather
than wait for a buffer that never drains.

The handshake is answered, always: within `WS_HANDSHAKE_TIMEOUT_SECONDS`
(else 503), and a request the WebSocket library refuses (a header line over
8 KiB, such as a browser's big cookie) gets its 431 written, where uvicorn
leaves the library's answer queued and the client hanging.

`ops-bridge serve` installs it; `/api/ws` refuses to run without it.
"""

from __future__ import annotations

import asyncio
import logging
import socket
from collections.abc import Callable, MutableMapping
from typing import Any

from uvicorn.config import Config
from uvicorn.protocols.utils import ClientDisconnected
from uvicorn.protocols.websockets.websockets_sansio_impl import WebSocketsSansIOProtocol
from websockets.exceptions import InvalidHeader, SecurityError
from websockets.extensions.permessage_deflate import PerMessageDeflate, ServerPerMessageDeflateFactory
from websockets.frames import Frame
from websockets.protocol import Protocol
from websockets.server import ServerProtocol

from app.edge.answers import refusal
from app.edge.limits import limits_of
from app.fanout.frames import DEFLATE_WINDOW_BITS
from app.observability import metrics
from app.observability.throttled import ThrottledWarning
from app.ws.per_connection import Flag, Inbox

EXTENSION = "ops_bridge.frame_sink"
_log = logging.getLogger(__name__)
# A storm may cut off hundreds at once: one line a second says so, the metric counts each.
_slow_consumer_warning = ThrottledWarning(_log)

# Close codes (docs/protocol.md lists them).
GOING_AWAY = 1001
SLOW_CONSUMER = 4008
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
            self._protocol.write(frame)

    def buffered(self) -> int:
        return self._protocol.transport.get_write_buffer_size()

    def charge_control_frames(self, charge: Callable[[], bool]) -> None:
        """Have each ping or unsolicited pong the client sends call `charge`, which says
        whether it is over its budget (its pong is then not sent)."""
        self._protocol.charge = charge

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
        if not self.closed:
            self._protocol.close_with(code, reason)


class BridgeWebSocketProtocol(WebSocketsSansIOProtocol):
    def __init__(self, config: Config, *args: Any, **kwargs: Any) -> None:
        super().__init__(config, *args, **kwargs)
        self.queue = Inbox()  # type: ignore[assignment]
        self.writable = Flag()  # type: ignore[assignment]
        self.writable.set()
        limits = limits_of(config)
        self.max_buffered = limits.ws_max_buffered_bytes
        self.handshake_timeout = limits.handshake_timeout
        self.handshake_timer: asyncio.TimerHandle | None = None
        # Spends the client's message budget for a control frame; True: over it (see FrameSink).
        self.charge: Callable[[], bool] | None = None
        self.write_paused = False
        # Pongs websockets queued for the pings of the current read, and how far they are taken.
        self.pongs, self.pong_at = b"", 0
        self.reading_stopped = False  # the transport's state, whoever asked for it
        self.handshake_expired = False
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

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        super().connection_made(transport)
        self.handshake_timer = self.loop.call_later(self.handshake_timeout, self._handshake_timed_out)

    def connection_lost(self, exc: Exception | None) -> None:
        self._end_handshake_timer()
        super().connection_lost(exc)

    # Writing: every frame the server sends passes here.

    def write(self, data: bytes) -> None:
        self.transport.write(data)
        self.check_buffered()

    def check_buffered(self) -> None:
        """Past `max_buffered` unsent, close the connection as a slow consumer."""
        if self.transport.get_write_buffer_size() > self.max_buffered and not self.close_sent:
            metrics.DROPPED_SLOW.inc()
            _slow_consumer_warning("closing a slow consumer: more than %d bytes unsent", self.max_buffered)
            self.close_with(SLOW_CONSUMER, "slow consumer: reconnect with last_event_id")

    def close_with(self, code: int, reason: str) -> None:
        """Send a close frame after whatever is buffered; drop the socket if it is not answered in time."""
        self.stop_keepalive()
        self.conn.send_close(code, reason)
        self.transport.write(b"".join(self.conn.data_to_send()))
        self.close_sent = True
        self.queue.put_nowait({"type": "websocket.disconnect", "code": code, "reason": reason})
        self._set_reading(paused_by_app=False)
        self._abort_later()

    def _abort_later(self) -> None:
        if self.close_timer is not None:
            self.close_timer.cancel()
        self.close_timer = self.loop.call_later(_CLOSE_GRACE_SECONDS, self.transport.abort)

    def pause_writing(self) -> None:
        super().pause_writing()
        self.write_paused = True
        self._set_reading(paused_by_app=self.read_paused)

    def resume_writing(self) -> None:
        super().resume_writing()
        self.write_paused = False
        self._set_reading(paused_by_app=self.read_paused)

    def _set_reading(self, *, paused_by_app: bool) -> None:
        """Read only while the application wants messages and the peer takes what is written
        (a closing connection reads on: the peer's close answer is awaited)."""
        self.read_paused = paused_by_app
        stop = paused_by_app or (self.write_paused and not self.close_sent)
        if stop == self.reading_stopped or self.transport.is_closing():
            return
        self.reading_stopped = stop
        if stop:
            self.transport.pause_reading()
        else:
            self.transport.resume_reading()

    async def receive(self) -> Any:
        message = await self.queue.get()
        if self.read_paused and self.queue.empty():
            self._set_reading(paused_by_app=False)
        return message

    def send_receive_event_to_app(self) -> None:
        paused = self.read_paused
        self.read_paused = True  # uvicorn's own pause below is skipped: reading is ours to switch
        super().send_receive_event_to_app()
        self.read_paused = paused
        if not self.close_sent:
            self._set_reading(paused_by_app=True)

    # Control frames

    def handle_ping(self) -> None:
        pong = self._next_pong()
        if self.close_sent or (self.charge is not None and self.charge()):
            return  # over budget, or closing: not sent
        self.write(pong)

    def _next_pong(self) -> bytes:
        """The pong websockets queued for this ping. It queues one per ping as it parses a
        read, all together, so they are taken out one at a time: a server's control frame
        is unmasked and at most 125 bytes, so its length is in its second byte."""
        if self.pong_at >= len(self.pongs):
            self.pongs, self.pong_at = b"".join(self.conn.data_to_send()), 0
        start = self.pong_at
        if len(self.pongs) - start < 2:
            self.pong_at = len(self.pongs)
            return self.pongs[start:]
        self.pong_at = start + 2 + (self.pongs[start + 1] & 0x7F)
        return self.pongs[start : self.pong_at]

    def handle_close(self, event: Frame) -> None:
        # What followed this read's pongs (the answer to this close) goes out first.
        rest, self.pongs, self.pong_at = self.pongs[self.pong_at :], b"", 0
        if rest and not self.transport.is_closing():
            self.transport.write(rest)
        super().handle_close(event)

    def handle_pong(self, event: Frame) -> None:
        solicited = self.pending_ping_payload is not None and bytes(event.data) == self.pending_ping_payload
        if not solicited and self.charge is not None and not self.close_sent:
            self.charge()
        super().handle_pong(event)

    def send_keepalive_ping(self) -> None:
        super().send_keepalive_ping()
        self.check_buffered()

    def keepalive_timeout(self) -> None:
        super().keepalive_timeout()
        # uvicorn closes gracefully, which waits for the buffer to drain: a peer that
        # stopped reading would keep the socket (and its buffer) for good.
        self._abort_later()

    # The handshake

    def data_received(self, data: bytes) -> None:
        super().data_received(data)
        refused = self.conn.handshake_exc
        if refused is not None and not self.handshake_initiated and not self.transport.is_closing():
            self._answer_refused_handshake(refused)

    def _answer_refused_handshake(self, refused: Exception) -> None:
        self.conn.data_to_send()  # the library's own plain-text answer, replaced by the service's
        self.handshake_complete = self.close_sent = True
        self._end_handshake_timer()
        if isinstance(refused, SecurityError):
            answer = refusal(431, "HEADERS_TOO_LARGE", "a header line over 8 KiB or too many headers")
        else:
            problem = str(refused) if isinstance(refused, InvalidHeader) else "not a valid WebSocket handshake"
            answer = refusal(400, "INVALID_HANDSHAKE", problem[:200])
        self.transport.write(answer)
        self.transport.close()

    def _handshake_timed_out(self) -> None:
        self.handshake_timer = None
        if self.handshake_complete or self.transport.is_closing():
            return
        _log.warning("WebSocket handshake not answered within %g s", self.handshake_timeout)
        self.handshake_complete = self.close_sent = self.handshake_expired = True
        self.queue.put_nowait({"type": "websocket.disconnect", "code": 1006})
        self.transport.write(refusal(503, "HANDSHAKE_TIMEOUT", "the handshake was not answered in time; retry"))
        self.transport.close()

    def _end_handshake_timer(self) -> None:
        if self.handshake_timer is not None:
            self.handshake_timer.cancel()
            self.handshake_timer = None

    def handle_connect(self, event: Any) -> None:
        super().handle_connect(event)
        # The ASGI task was created but has not run yet: the scope can still be
        # given its extension.
        scope = getattr(self, "scope", None)
        if scope is not None:
            scope["extensions"][EXTENSION] = {"sink": FrameSink(self)}

    async def send(self, message: Any) -> None:
        kind = message["type"]
        if self.handshake_expired:
            raise ClientDisconnected  # answered 503 meanwhile: the application's answer is too late
        await super().send(message)
        if self.handshake_complete:
            self._end_handshake_timer()
        if kind == "websocket.accept":
            # The handshake's request and response are not needed again, and
            # a connection may stay open for hours.
            self.request = self.response = None  # type: ignore[assignment]
            if not self.conn.reader.buffer:
                # ServerProtocol's parser is a generator whose frame holds the request for
                # the connection's life (3.5 KiB): frames are read by a fresh one from here.
                self.conn.parser = Protocol.parse(self.conn)
                next(self.conn.parser)
            # Headers were read by authentication; nothing reads them again (Starlette's
            # Headers share this list), and they are most of an idle connection's scope.
            headers = self.scope["headers"]
            if isinstance(headers, list):
                headers.clear()
        elif kind == "websocket.http.response.body" and not message.get("more_body", False):
            # A refused handshake (401/403/429) is a complete answer: without
            # this, uvicorn logs an error for every one it sends.
            self.handshake_complete = True
        elif kind == "websocket.close" and self.close_timer is not None:
            self._set_reading(paused_by_app=False)  # uvicorn resumed reading by itself
            self._abort_later()  # uvicorn's timer closes gracefully: a peer that never reads would stay
        elif kind == "websocket.send":
            self.check_buffered()

    def shutdown(self) -> None:
        """Server shutdown: close with 1001 (going away) so clients resume elsewhere,
        where uvicorn would send 1012."""
        self._end_handshake_timer()
        if self.handshake_complete and not self.close_sent and not self.disconnected:
            self.close_with(GOING_AWAY, "server shutting down: resume elsewhere")
            return
        super().shutdown()


def frame_sink(scope: MutableMapping[str, Any]) -> FrameSink | None:
    extension = scope.get("extensions", {}).get(EXTENSION)
    return extension["sink"] if extension else None
