"""The relay's publishing, against a real Redis: explicit ids make a takeover exact."""

from __future__ import annotations

from app.broker import stream
from app.broker.relay import Publisher
from app.fanout.frames import Event
from tests.support.redis import RedisServer


def _event(position: int) -> Event:
    return Event.from_row(position, "incident", "ops", None, None, '{"n":1}')


async def test_a_relay_that_takes_over_behind_its_predecessor_doubles_nothing(redis: RedisServer) -> None:
    client = stream.connect(redis.url)
    try:
        first = Publisher(client, "events", max_events=1000)
        first.start_at(0)
        await first.publish([_event(1), _event(2), _event(3)])
        # The successor started from the stream's last id before the predecessor's last batch landed.
        second = Publisher(client, "events", max_events=1000)
        second.start_at(1)
        await second.publish([_event(2), _event(3), _event(4)])

        held = await stream.range_after(client, "events", 0, 10, count=100)
    finally:
        await client.aclose()

    assert [(entry.event.position, entry.prev) for entry in held] == [(1, 0), (2, 1), (3, 2), (4, 3)]
    assert second.position == 4
