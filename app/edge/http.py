"""uvicorn's httptools protocol, bounded: request heads, slow clients, open connections.

httptools hands a header over only once it is whole, joining the chunks of a
long one as they come (quadratically: a 128 MiB header stalled the process for
seconds), and uvicorn keeps no count of header bytes or headers. Here every
chunk read while a head is incomplete is counted before the next is fed, so a
head is refused with 431 once it passes `max_header_bytes` (one read past it
at most), and once it has more than `max_headers` fields.

A client gets `header_timeout` from connecting (or from starting a request on
a kept-alive connection) to a complete head, and `body_timeout` between two
reads of a body it announced: past either, 408. Past `max_connections` open
connections in this process, a new one is answered 503 `SERVER_BUSY`.

Every refusal is a whole response followed by a half-close; what the client
still sends is read and thrown away for a moment (bounded in bytes and time),
so it reads the answer instead of a reset, as nginx's lingering close does.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

import httptools
from uvicorn.config import Config
from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol, RequestResponseCycle
from uvicorn.server import ServerState

from app.edge.answers import refusal
from app.edge.limits import limits_of

_log = logging.getLogger(__name__)

# After a refusal: what is still read and dropped, and for how long, before the socket is closed.
_LINGER_BYTES = 1024 * 1024
_LINGER_SECONDS = 2.0


class _HeadTooLarge(Exception):
    """Raised from a parser callback to stop httptools at once."""


class EdgeHttpProtocol(HttpToolsProtocol):
    def __init__(
        self,
        config: Config,
        server_state: ServerState,
        app_state: dict[str, Any],
        _loop: asyncio.AbstractEventLoop | None = None,
    ) -> None:
        super().__init__(config, server_state, app_state, _loop)
        self.limits = limits_of(config)
        self._in_head = True
        # The current head's size: as the parser reports its parts, and as whole reads
        # once it spans more than one (httptools holds a part it has not finished).
        self._head_bytes = 0
        self._head_reads: int | None = None
        self._head_fields = 0
        self._head_timer: asyncio.TimerHandle | None = None
        self._body_timer: asyncio.TimerHandle | None = None
        self._body_read = False
        # After a refusal: how many more bytes may be read and dropped (None: not refused).
        self._linger: int | None = None

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        if len(self.connections) > self.limits.max_connections:
            _log.warning("refusing a connection: %d open (MAX_CONNECTIONS)", len(self.connections) - 1)
            self._refuse(503, "SERVER_BUSY", "too many open connections; retry shortly")
            return
        self._arm_head_timer()

    def connection_lost(self, exc: Exception | None) -> None:
        self._cancel_timers()
        super().connection_lost(exc)

    def data_received(self, data: bytes) -> None:
        if self._linger is not None:
            self._drop(len(data))
            return
        self._unset_keepalive_if_required()
        try:
            self.parser.feed_data(data)
        except httptools.HttpParserUpgrade:
            if self._should_upgrade():
                self.handle_websocket_upgrade()
            else:
                self._unsupported_upgrade_warning()
            return
        except httptools.HttpParserError:
            if self._head_over_limits():
                self._refuse_head()  # a callback stopped the parser on purpose
            else:
                self._log_invalid()
                self._cancel_timers()
                self.send_400_response("Invalid HTTP request received.")
            return
        if self._in_head and self._linger is None:
            self._count_head_read(len(data))
        elif self._body_timer is not None:
            self._body_read = True

    def _count_head_read(self, size: int) -> None:
        if self._head_reads is None:
            # The head began in this read: the parser's count covers it (all but a part in progress).
            self._head_reads = self._head_bytes
        else:
            self._head_reads += size
        if self._head_reads > self.limits.max_header_bytes:
            self._refuse_head()

    def _head_over_limits(self) -> bool:
        limits = self.limits
        return self._head_fields > limits.max_headers or self._head_bytes > limits.max_header_bytes

    def _log_invalid(self) -> None:
        self.logger.warning("Invalid HTTP request received.")

    def _drop(self, size: int) -> None:
        assert self._linger is not None
        self._linger -= size
        if self._linger <= 0:
            self.transport.close()

    def handle_websocket_upgrade(self) -> None:
        self._cancel_timers()
        super().handle_websocket_upgrade()

    # Parser callbacks

    def on_message_begin(self) -> None:
        super().on_message_begin()
        self._in_head = True
        self._head_bytes = self._head_fields = 0
        self._head_reads = None
        self._arm_head_timer()

    def on_url(self, url: bytes) -> None:
        self._head_bytes += len(url)
        if self._head_bytes > self.limits.max_header_bytes:
            raise _HeadTooLarge
        super().on_url(url)

    def on_header(self, name: bytes, value: bytes) -> None:
        self._head_fields += 1
        self._head_bytes += len(name) + len(value)
        if self._head_fields > self.limits.max_headers or self._head_bytes > self.limits.max_header_bytes:
            raise _HeadTooLarge
        super().on_header(name, value)

    def on_headers_complete(self) -> None:
        self._in_head = False
        if self._head_timer is not None:
            self._head_timer.cancel()
            self._head_timer = None
        super().on_headers_complete()
        if not (self.parser.should_upgrade() and self._should_upgrade()):
            self._body_read = False
            self._body_timer = self.loop.call_later(self.limits.body_timeout, self._body_timed_out)

    def on_message_complete(self) -> None:
        if self._body_timer is not None:
            self._body_timer.cancel()
            self._body_timer = None
        super().on_message_complete()

    # Deadlines and refusals

    def _arm_head_timer(self) -> None:
        if self._head_timer is None and self._linger is None:
            self._head_timer = self.loop.call_later(self.limits.header_timeout, self._head_timed_out)

    def _cancel_timers(self) -> None:
        for timer in (self._head_timer, self._body_timer):
            if timer is not None:
                timer.cancel()
        self._head_timer = self._body_timer = None

    def _head_timed_out(self) -> None:
        self._head_timer = None
        cycle: RequestResponseCycle | None = self.cycle  # None until a first head is complete
        if cycle is not None and not cycle.response_complete:
            # A pipelined head is late while the response before it is being sent: end after that one.
            cycle.keep_alive = False
            self.flow.pause_reading()
            return
        self._refuse(408, "REQUEST_TIMEOUT", f"no complete request head within {self.limits.header_timeout:g} s")

    def _body_timed_out(self) -> None:
        self._body_timer = None
        if self._body_read:
            self._body_read = False
            self._body_timer = self.loop.call_later(self.limits.body_timeout, self._body_timed_out)
            return
        cycle = self.cycle
        started = cycle.response_started
        # The application's next receive() sees the client gone (app.errors: IncompleteBody), and
        # whatever it answers is not written: the edge answers instead.
        cycle.disconnected = True
        cycle.message_event.set()
        if started:
            self.transport.close()
            return
        self._refuse(408, "REQUEST_TIMEOUT", f"the body stopped arriving for {self.limits.body_timeout:g} s")

    def _refuse_head(self) -> None:
        limits = self.limits
        message = f"request head larger than {limits.max_header_bytes} bytes or {limits.max_headers} fields"
        self._refuse(431, "HEADERS_TOO_LARGE", message)

    def _refuse(self, status: int, code: str, message: str) -> None:
        """Answer `status` and end the connection, reading (and dropping) what the client still sends."""
        self._cancel_timers()
        self._unset_keepalive_if_required()
        self._linger = _LINGER_BYTES
        transport = self.transport
        if transport.is_closing():
            return
        self.flow.resume_reading()
        transport.write(refusal(status, code, message, self.server_state.default_headers))
        if transport.can_write_eof():
            transport.write_eof()
        self.loop.call_later(_LINGER_SECONDS, transport.close)

    def shutdown(self) -> None:
        self._cancel_timers()
        super().shutdown()
