"""The hub's fan-out rules, with sockets replaced by recording sinks (the edge).

The socket path itself is covered end to end elsewhere; here each rule is
isolated: one write per socket per batch, one decision per profile, personal
notifications, eviction, and profile changes during a publication."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from datetime import UTC, datetime

import pytest

from app.auth.principal import Principal
from app.fanout import hub as hub_module
from app.fanout.frames import Event
from app.fanout.hub import Hub, Subscriber, TopicFilter


@dataclass
class RecordingSink:
    writes: list[bytes] = field(default_factory=list)
    pending: int = 0
    closed_with: int | None = None

    def write(self, frame: bytes) -> None:
        self.writes.append(frame)

    def buffered(self) -> int:
        return self.pending

    def close(self, code: int, _reason: str) -> None:
        self.closed_with = code

    @property
    def closed(self) -> bool:
        return self.closed_with is not None

    @property
    def deflate(self) -> bool:
        return False

    def positions(self) -> list[int]:
        return [int(part.split(b'"id":')[1].split(b",")[0]) for write in self.writes for part in _frames(write)]


def _frames(buffer: bytes) -> list[bytes]:
    return [b'{"id":' + chunk for chunk in buffer.split(b'{"id":')[1:]]


def _principal(*, squads: frozenset[str] | None = None, sub: str = "u", admin: bool = False) -> Principal:
    return Principal(
        sub=sub, email=None, squads=squads, environments=frozenset(),
        roles=frozenset({"admin" if admin else "viewer"}), expires_at=datetime.now(UTC),
    )  # fmt: skip


def _event(position: int, squad: str | None = "ops", audience: frozenset[str] | None = None) -> Event:
    topic = "notification" if audience is not None else "incident"
    return Event.from_row(position, topic, squad, None, sorted(audience) if audience else None, '{"n":1}')


def _subscriber(hub: Hub, principal: Principal, topics: dict[str, TopicFilter] | None = None) -> Subscriber:
    subscriber = Subscriber(principal=principal, sink=RecordingSink(), topics=topics, cursor=hub.position)
    assert hub.go_live(subscriber)
    return subscriber


def _sink(subscriber: Subscriber) -> RecordingSink:
    assert isinstance(subscriber.sink, RecordingSink)
    return subscriber.sink


@pytest.fixture
def hub() -> Hub:
    started = Hub(max_buffered_bytes=1000)
    started.start_at(0)
    return started


async def test_a_batch_of_events_costs_one_write_per_socket(hub: Hub) -> None:
    subscribers = [_subscriber(hub, _principal()) for _ in range(3)]

    await hub.publish([_event(n) for n in range(1, 6)])

    for subscriber in subscribers:
        assert len(_sink(subscriber).writes) == 1
        assert _sink(subscriber).positions() == [1, 2, 3, 4, 5]
        assert hub.position_of(subscriber) == 5


async def test_each_subscriber_gets_what_its_profile_may_see_and_asked_for(hub: Hub) -> None:
    ops = _subscriber(hub, _principal(squads=frozenset({"ops"})))
    pay = _subscriber(hub, _principal(squads=frozenset({"pay"})))
    admin = _subscriber(hub, _principal(admin=True, squads=frozenset()))
    tasks_only = _subscriber(hub, _principal(), topics={"task": TopicFilter()})

    await hub.publish([_event(1, "ops"), _event(2, "pay"), _event(3, None)])

    assert _sink(ops).positions() == [1, 3]
    assert _sink(pay).positions() == [2, 3]
    assert _sink(admin).positions() == [1, 2, 3]
    assert _sink(tasks_only).writes == []
    assert hub.position_of(tasks_only) == 3


async def test_a_personal_notification_reaches_only_its_addressee_within_a_shared_profile(hub: Hub) -> None:
    ana = _subscriber(hub, _principal(sub="ana"))
    bob = _subscriber(hub, _principal(sub="bob"))

    await hub.publish([_event(1), _event(2, None, frozenset({"ana"})), _event(3)])

    assert _sink(ana).positions() == [1, 2, 3]
    assert _sink(bob).positions() == [1, 3]


async def test_a_subscriber_its_transport_closed_is_detached_and_the_others_are_served(hub: Hub) -> None:
    # The transport closes a slow consumer itself (app/ws/transport.py); the hub stops offering to it.
    gone = _subscriber(hub, _principal())
    fine = _subscriber(hub, _principal())
    _sink(gone).closed_with = 4008

    await hub.publish([_event(1)])

    assert not gone.live
    assert _sink(gone).writes == []
    assert _sink(fine).positions() == [1]
    assert hub.subscriber_count == 1


async def test_a_profile_change_during_a_publication_serves_the_subscriber_once_by_its_new_profile(
    hub: Hub, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(hub_module, "_SLICE_SECONDS", -1.0)  # yield after every subscriber
    first = _subscriber(hub, _principal())
    changing = _subscriber(hub, _principal())
    publication = asyncio.create_task(hub.publish([_event(1, "ops"), _event(2, "pay")]))
    await asyncio.sleep(0)  # the publication has started and yielded after one subscriber
    served_first = first if _sink(first).writes else changing
    other = changing if served_first is first else first
    other.topics = {"incident": TopicFilter(squads=frozenset({"pay"}))}
    hub.refresh(other)
    await publication

    assert _sink(served_first).positions() == [1, 2]
    assert _sink(other).positions() == [2]


async def test_no_subscriber_goes_live_in_the_middle_of_a_publication(
    hub: Hub, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(hub_module, "_SLICE_SECONDS", -1.0)
    for _ in range(2):
        _subscriber(hub, _principal())
    late = Subscriber(principal=_principal(), sink=RecordingSink(), cursor=0)
    publication = asyncio.create_task(hub.publish([_event(1)]))
    await asyncio.sleep(0)
    refused_during = hub.go_live(late)
    await publication

    assert not refused_during
    assert not hub.go_live(late)  # still behind: it must catch up on event 1 first
    late.cursor = hub.position
    assert hub.go_live(late)


async def test_when_the_live_feed_is_lost_no_one_stays_live_or_waits_silently_until_it_is_back(hub: Hub) -> None:
    live = _subscriber(hub, _principal())
    catching_up = Subscriber(principal=_principal(), sink=RecordingSink(), topics=None, cursor=0)
    ahead = asyncio.create_task(hub.wait_beyond(5))  # a resume from a position the hub has not reached
    await asyncio.sleep(0)

    hub.feed_lost(1013, "the broker is unreachable")

    assert _sink(live).closed_with == 1013
    with pytest.raises(hub_module.LiveFeedLost):
        await ahead
    with pytest.raises(hub_module.LiveFeedLost):
        hub.go_live(catching_up)
    assert not catching_up.live
    hub.feed_back()
    assert hub.go_live(catching_up)
