"""An event survives the trip through a stream entry unchanged: what an edge hands its hub
is what the listener would have (the same bytes, the same fields authorization reads)."""

from __future__ import annotations

import pytest
import redis.exceptions

from app.broker import stream
from app.fanout.frames import Event


@pytest.mark.parametrize(
    ("squad", "environment", "audience"),
    [("ops", None, None), (None, "", ["alice", "bob@example.com"]), ("", "production", [])],
)
def test_an_event_comes_back_from_its_entry_as_the_listener_built_it(
    squad: str | None, environment: str | None, audience: list[str] | None
) -> None:
    event = Event.from_row(42, "notification", squad, environment, audience, '{"type":"notification","data":{}}', 17.5)

    entry = stream.entry_of(b"42-0", stream.fields_of(event, prev=40))

    assert entry.prev == 40
    assert (entry.event.position, entry.event.topic, entry.event.body) == (42, "notification", event.body)
    assert (entry.event.squad, entry.event.environment, entry.event.audience) == (squad, environment, event.audience)
    assert entry.event.created_at == 17.5
    assert entry.event.frame == event.frame


def test_a_broker_failure_is_named_by_its_class_never_by_the_message_that_says_where_the_broker_is() -> None:
    # What /readyz says of a lost broker (an edge's, a relay's); redis-py's messages name host and port.
    refused = OSError("the broker refused the relay's batch")
    refused.__cause__ = redis.exceptions.ConnectionError("Error 111 connecting to 10.1.2.3:6390. Connection refused.")

    assert stream.failure(refused) == "ConnectionError"
    assert stream.failure(redis.exceptions.TimeoutError("Timeout reading from 10.1.2.3:6390")) == "TimeoutError"
