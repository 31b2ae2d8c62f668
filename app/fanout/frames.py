"""An event as the log gives it back (`Event`): serialized once, with its `id`
spliced in, and framed once for every socket (compressed once for all that
accepted permessage-deflate). What a writer appends is `NewEvent`
(app/store/outbox.py)."""

from __future__ import annotations

import zlib
from dataclasses import dataclass, field

from websockets.frames import Frame, Opcode


def text_frame(payload: bytes) -> bytes:
    """A complete, unmasked WebSocket text frame: identical for every connection."""
    return Frame(Opcode.TEXT, payload).serialize(mask=False)


# permessage-deflate, shared: connections negotiate no context takeover (see
# app/ws/transport.py), so each message is compressed on its own and the same
# compressed frame serves every connection that accepted compression.
DEFLATE_WINDOW_BITS = 12
# Below this a message is sent as it is: deflate's framing costs more than it saves.
_DEFLATE_FROM_BYTES = 256
_SYNC_FLUSH_TAIL = b"\x00\x00\xff\xff"


def deflated_text_frame(payload: bytes) -> bytes | None:
    """The frame of `payload` compressed (RSV1 set), or None when that would not be smaller."""
    if len(payload) < _DEFLATE_FROM_BYTES:
        return None
    encoder = zlib.compressobj(6, zlib.DEFLATED, -DEFLATE_WINDOW_BITS, 5)
    data = encoder.compress(payload) + encoder.flush(zlib.Z_SYNC_FLUSH)
    data = data.removesuffix(_SYNC_FLUSH_TAIL)
    if len(data) >= len(payload):
        return None
    return _unmasked_header(0xC1, len(data)) + data  # FIN, RSV1 (compressed), text


def _unmasked_header(first_byte: int, length: int) -> bytes:
    """A server frame's header (RFC 6455, 5.2). websockets' Frame refuses to
    serialize RSV1 without its own extension object, which would compress again."""
    if length < 126:
        return bytes((first_byte, length))
    if length < 1 << 16:
        return bytes((first_byte, 126)) + length.to_bytes(2, "big")
    return bytes((first_byte, 127)) + length.to_bytes(8, "big")


@dataclass(slots=True)
class Event:
    position: int
    topic: str
    squad: str | None
    environment: str | None
    audience: frozenset[str] | None
    body: bytes
    # Seconds since the epoch at which the writing transaction began (for latency metrics; 0: unknown).
    created_at: float = 0.0
    _frame: bytes | None = field(default=None, repr=False)
    _deflated: bytes | None = field(default=None, repr=False)
    _deflate_tried: bool = field(default=False, repr=False)

    @classmethod
    def from_row(
        cls,
        position: int,
        topic: str,
        squad: str | None,
        environment: str | None,
        audience: list[str] | None,
        message: str,
        created_at: float = 0.0,
    ) -> Event:
        # The writer serialized the message without its id; splice the id in
        # instead of parsing and serializing again.
        rest = message.lstrip()[1:].lstrip()
        separator = b"" if rest.startswith("}") else b","
        body = b'{"id":%d' % position + separator + rest.encode()
        return cls(
            position=position,
            topic=topic,
            squad=squad,
            environment=environment,
            audience=frozenset(audience) if audience is not None else None,
            body=body,
            created_at=created_at,
        )

    @property
    def frame(self) -> bytes:
        if self._frame is None:
            self._frame = text_frame(self.body)
        return self._frame

    def frame_for(self, deflate: bool) -> bytes:
        """The frame to send: compressed once for every connection that accepted deflate."""
        if not deflate:
            return self.frame
        if not self._deflate_tried:
            self._deflated = deflated_text_frame(self.body)
            self._deflate_tried = True
        return self._deflated or self.frame
