"""An event as a Redis Stream entry, and back.

The entry id is the event's position (`<position>-0`): Redis refuses an id not
greater than the stream's last, so a relay that takes over and publishes what
its predecessor already did is refused instead of doubling it, and a reader
that asks for "everything after N" asks the stream by id, as it asks the log.

Each entry also names `prev`, the position of the event before it in the log
(or, for a relay's first entry on an empty stream, where that relay started).
An edge that has handed the hub position P and reads an entry whose `prev` is
above P knows the stream does not hold what lies between (Redis restarted and
lost the stream) and reads that span from PostgreSQL; a replay from the stream
whose entries do not chain is not served from it. So a gap is never passed on.

The body stored is the one the hub sends (the log's message with the id spliced
in by `Event.from_row`), so the edge's Event is the listener's, byte for byte.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import cast

import orjson
from redis.asyncio import Redis

from app.fanout.frames import Event

# What a client is: the raw bytes Redis gives back (no decoding: the body stays as the log wrote it).
Client = Redis


def connect(url: str) -> Client:
    """A client that raises on a lost connection rather than retrying silently: the caller
    decides what a lost broker means (an edge tells its subscribers)."""
    return Redis.from_url(url, decode_responses=False, socket_connect_timeout=3.0, socket_keepalive=True)


def entry_id(position: int) -> str:
    return f"{position}-0"


def position_of(entry: bytes | str) -> int:
    text = entry.decode() if isinstance(entry, bytes) else entry
    return int(text.partition("-")[0])


@dataclass(frozen=True, slots=True)
class Entry:
    event: Event
    # The position of the event before this one in the log: the stream holds every event after it.
    prev: int


def fields_of(event: Event, prev: int) -> dict[bytes, bytes]:
    fields = {
        b"prev": b"%d" % prev,
        b"topic": event.topic.encode(),
        b"body": event.body,
        b"created": repr(event.created_at).encode(),
    }
    # An absent field is None; an empty one is the empty string.
    if event.squad is not None:
        fields[b"squad"] = event.squad.encode()
    if event.environment is not None:
        fields[b"environment"] = event.environment.encode()
    if event.audience is not None:
        fields[b"audience"] = orjson.dumps(sorted(event.audience))
    return fields


def entry_of(entry: bytes, fields: dict[bytes, bytes]) -> Entry:
    squad, environment, audience = fields.get(b"squad"), fields.get(b"environment"), fields.get(b"audience")
    event = Event(
        position=position_of(entry),
        topic=fields[b"topic"].decode(),
        squad=squad.decode() if squad is not None else None,
        environment=environment.decode() if environment is not None else None,
        audience=frozenset(orjson.loads(audience)) if audience is not None else None,
        body=fields[b"body"],
        created_at=float(fields[b"created"]),
    )
    return Entry(event, int(fields[b"prev"]))


# What XRANGE and XREAD give back for one stream, without decoding.
_Raw = list[tuple[bytes, dict[bytes, bytes]]]


async def last_position(client: Client, stream: str) -> int | None:
    """The newest entry's position, None when the stream is empty or missing."""
    newest = cast(_Raw, await client.xrevrange(stream, count=1))
    return position_of(newest[0][0]) if newest else None


async def read_after(client: Client, stream: str, position: int, *, count: int, block_ms: int) -> list[Entry]:
    """Entries after `position`, waiting up to `block_ms` for one when there are none yet."""
    found = cast(
        list[tuple[bytes, _Raw]], await client.xread({stream: entry_id(position)}, count=count, block=block_ms)
    )
    return [entry_of(entry, fields) for _, entries in found for entry, fields in entries]


async def range_after(client: Client, stream: str, after: int, upto: int, *, count: int) -> list[Entry]:
    """Entries in (after, upto], oldest first, at most `count`."""
    found = cast(_Raw, await client.xrange(stream, min=f"({entry_id(after)}", max=entry_id(upto), count=count))
    return [entry_of(entry, fields) for entry, fields in found]


def failure(error: BaseException) -> str:
    """What went wrong with the broker, for /readyz: the error's class, never its message,
    which names hosts and ports (the log line has it whole)."""
    cause = error.__cause__ if error.__cause__ is not None else error
    return type(cause).__name__
