"""Events on both sides of the log: `NewEvent` as a writer appends it, `Event`
as a reader gets it back, serialized once and framed once for every socket."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from websockets.frames import Frame, Opcode

from app.clock import iso
from app.contract.payloads import Action, Topic


@dataclass(frozen=True, slots=True)
class NewEvent:
    topic: Topic
    action: Action
    data: dict[str, Any]
    timestamp: datetime
    squad: str | None = None
    environment: str | None = None
    # None: everyone the squad/environment rule allows. Otherwise the `sub`s and
    # lower-cased e-mail addresses it is addressed to.
    audience: frozenset[str] | None = None

    def message(self) -> dict[str, Any]:
        """The contract message, without the `id` the log assigns on insert."""
        return {
            "type": self.topic,
            "action": self.action,
            "data": self.data,
            "timestamp": iso(self.timestamp),
        }


def text_frame(payload: bytes) -> bytes:
    """A complete, unmasked WebSocket text frame: identical for every connection."""
    return Frame(Opcode.TEXT, payload).serialize(mask=False)


@dataclass(slots=True)
class Event:
    position: int
    topic: str
    squad: str | None
    environment: str | None
    audience: frozenset[str] | None
    body: bytes
    _frame: bytes | None = field(default=None, repr=False)

    @classmethod
    def from_row(
        cls,
        position: int,
        topic: str,
        squad: str | None,
        environment: str | None,
        audience: list[str] | None,
        message: str,
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
        )

    @property
    def frame(self) -> bytes:
        if self._frame is None:
            self._frame = text_frame(self.body)
        return self._frame
