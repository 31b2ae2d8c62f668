"""One subscriber's connection, from the confirmation message to the close.

Every frame to the client (events, acknowledgements, errors) goes through the
same sink in call order, so an acknowledgement's `position` is exact: the
events after it are filtered the new way, the ones before it the old way.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import uuid
from typing import Literal

from pydantic import MISSING
from starlette.websockets import WebSocket

from app.auth.tokens import TokenError
from app.clock import utcnow
from app.db.failures import kind_of, unavailable
from app.errors import Forbidden, InvalidPayload, StoreUnavailable
from app.fanout.hub import LiveFeedLost, Subscriber, TopicFilter
from app.ingest import notifications
from app.observability import metrics
from app.ratelimit import TokenBucket
from app.runtime import Runtime
from app.ws import messages
from app.ws.handshake import Handshake
from app.ws.transport import FrameSink

_log = logging.getLogger(__name__)

_POLICY_VIOLATION = 1008
# "Try again later" (RFC 6455): the replay could not read the log; nothing was
# skipped, and reconnecting with last_event_id picks up where the client is.
RESUME_AGAIN = 1013
# Rate-limited messages tolerated before the connection is closed.
_RATE_LIMIT_STRIKES = 10


class Session:
    def __init__(self, websocket: WebSocket, sink: FrameSink, handshake: Handshake, runtime: Runtime) -> None:
        self._ws = websocket
        self._sink = sink
        self._runtime = runtime
        self._hub = runtime.hub
        self.id = uuid.uuid4().hex[:12]
        self.subscriber = Subscriber(principal=handshake.principal, sink=sink)
        per_minute = runtime.settings.ws_rate_limit_per_minute
        # A bucket, not a log of timestamps: two numbers per connection, however busy.
        self._allowance = TokenBucket(rate=per_minute / 60.0, burst=float(per_minute))
        # Pings and unsolicited pongs spend it too: a flood of them is answered like one of requests.
        sink.charge_control_frames(self._rate_limited)
        self._strikes = 0
        self._catch_up: asyncio.Task[None] | None = None
        self._expiry: asyncio.TimerHandle | None = None
        # The close code the connection ended with (None until it has).
        self.close_code: int | None = None

    async def run(self, resume_from: int | None) -> None:
        try:
            await self._start(resume_from)
            await self._receive_loop()
        finally:
            self._hub.detach(self.subscriber)
            if self._catch_up is not None:
                self._catch_up.cancel()
            if self._expiry is not None:
                self._expiry.cancel()

    async def _start(self, resume_from: int | None) -> None:
        resume: messages.ResumeInfo | None = None
        if resume_from is not None:
            try:
                resume_from, resume = await self._resume_point(resume_from)
            except Exception as exc:  # noqa: BLE001 - whatever it was, the client must hear to resume again
                self._cannot_replay("looking up the resume point", exc)
                return
        sub = self.subscriber
        if resume_from is None:
            sub.cursor = self._hub.position
            with contextlib.suppress(LiveFeedLost):  # then the catch-up below closes it, saying why
                self._hub.go_live(sub)
        else:
            sub.cursor = resume_from
        self._send(self._confirmation(resume))
        if not sub.live:
            self._catch_up = asyncio.create_task(self._catch_up_or_close())
        self._schedule_expiry()

    async def _resume_point(self, requested: int) -> tuple[int | None, messages.ResumeInfo | None]:
        """Where replay starts for a client that last saw `requested`, and what to tell it."""
        hub, replay = self._hub, self._runtime.replay
        if requested > hub.position and requested > await replay.newest_position():
            unknown = "last_event_id is ahead of the event log; starting from now"
            self._send(messages.error_frame(messages.RESUME_POSITION_UNKNOWN, unknown))
            return None, None
        if hub.holds_after(requested):
            return requested, messages.ResumeInfo(from_=requested, complete=True)
        purged = await replay.purged_through()
        if requested >= purged:
            return requested, messages.ResumeInfo(from_=requested, complete=True)
        too_old = f"events after {requested} up to {purged} are no longer kept; re-fetch, then follow the stream"
        self._send(messages.error_frame(messages.RESUME_TOO_OLD, too_old))
        return purged, messages.ResumeInfo(from_=requested, complete=False, replay_from=purged)

    def _confirmation(self, resume: messages.ResumeInfo | None) -> bytes:
        principal = self.subscriber.principal
        info = messages.ConnectionInfo(
            connection_id=self.id,
            sub=principal.sub,
            roles=sorted(principal.roles),
            squads=sorted(principal.squads) if principal.squads is not None else ["*"],
            environments=sorted(principal.environments) if principal.environments is not None else ["*"],
            position=self._hub.position_of(self.subscriber),
            resume=resume,
            heartbeat_interval=self._runtime.settings.ws_ping_interval,
        )
        return messages.frame_of(messages.ConnectionEstablished(data=info, timestamp=utcnow()))

    def _send(self, frame: bytes) -> None:
        self._sink.write(frame)

    async def _catch_up_or_close(self) -> None:
        """Catch up; a catch-up that cannot go on closes the connection, never leaves it silent."""
        try:
            await self._catch_up_then_go_live()
        except LiveFeedLost as lost:
            self._hub.detach(self.subscriber)
            if not self._sink.closed:
                self._sink.close(lost.code, lost.reason)
        except Exception as exc:  # noqa: BLE001 - whatever it was, the client must hear to resume again
            self._cannot_replay("replaying the events it missed", exc)

    def _cannot_replay(self, doing: str, exc: Exception) -> None:
        """Close with RESUME_AGAIN and say why, once: the client reconnects with the last id it got."""
        self._hub.detach(self.subscriber)
        if self._sink.closed:
            return
        metrics.DROPPED_REPLAY.inc()
        if unavailable(exc) is not None:
            _log.warning(
                "closing connection %s with %d (resume again): %s failed, the database is unavailable (%s)",
                self.id,
                RESUME_AGAIN,
                doing,
                kind_of(exc),
            )
        else:
            _log.error(
                "closing connection %s with %d (resume again): %s failed", self.id, RESUME_AGAIN, doing, exc_info=exc
            )
        self._sink.close(RESUME_AGAIN, "could not replay the missed events: reconnect with last_event_id")

    async def _catch_up_then_go_live(self) -> None:
        """Replay what the subscriber missed, then join the live stream with no gap."""
        sub, hub, replay = self.subscriber, self._hub, self._runtime.replay
        while not self._sink.closed:
            # Between here and go_live nothing awaits: no publication can slip
            # into the seam between the replay and the live stream.
            await hub.wait_idle()
            if sub.cursor > hub.position:
                await hub.wait_beyond(sub.cursor)
                continue
            if hub.go_live(sub):
                return
            events, sub.cursor = await replay.after(sub.cursor, hub.position)
            deflate = self._sink.deflate
            frames = [event.frame_for(deflate) for event in events if sub.wants(event)]
            if frames:
                # One write for the page: a wave of resumes costs a write per socket, not per event.
                self._send(b"".join(frames))
                sub.delivered += len(frames)
            if self._sink.buffered() > hub.max_buffered_bytes // 2:
                await self._sink.drained()

    async def _receive_loop(self) -> None:
        while True:
            message = await self._ws.receive()
            if message["type"] == "websocket.disconnect":
                self.close_code = message.get("code")
                return
            if self._rate_limited():
                continue
            text = message.get("text")
            if text is None:
                self._send(messages.error_frame(messages.INVALID_MESSAGE, "send JSON text frames"))
                continue
            try:
                await self._handle(messages.parse_request(text))
            except messages.RequestError as exc:
                self._send(messages.error_frame(exc.code, exc.message, exc.request_id))

    def _rate_limited(self) -> bool:
        if self._allowance.take():
            return False
        self._strikes += 1
        if self._strikes > _RATE_LIMIT_STRIKES:
            if not self._sink.closed:
                metrics.DROPPED_RATE_LIMITED.inc()
            self._hub.detach(self.subscriber)
            self._sink.close(_POLICY_VIOLATION, "rate limit exceeded")
        else:
            self._send(
                messages.error_frame(
                    messages.RATE_LIMITED,
                    f"more than {self._runtime.settings.ws_rate_limit_per_minute} messages a minute",
                )
            )
        return True

    async def _handle(self, request: messages.AnyRequest) -> None:
        if isinstance(request, messages.PublishNotification):
            await self._publish(request)
        elif isinstance(request, messages.PingRequest):
            self._send(messages.pong_frame(request.id))
        elif isinstance(request, messages.SubscribeRequest):
            self._subscribe(request)
        elif isinstance(request, messages.UnsubscribeRequest):
            self._unsubscribe(request)
        else:
            self._reauthenticate(request)

    def _topics(self, names: list[str] | None, request_id: messages.RequestId | None) -> list[str]:
        if names is None:
            return sorted(set(messages.TOPICS.values()))
        unknown = [name for name in names if name not in messages.TOPICS]
        if unknown:
            raise messages.RequestError(messages.UNKNOWN_TOPIC, f"unknown topic {unknown[0][:40]!r}", request_id)
        return sorted({messages.TOPICS[name] for name in names})

    def _subscribe(self, request: messages.SubscribeRequest) -> None:
        topics = self._topics(messages.as_list(request.topics), request.id)
        filters = request.filters or messages.Filters()
        squads, environments = messages.as_list(filters.squad), messages.as_list(filters.environment)
        principal = self.subscriber.principal
        if squads is not None and not principal.allows_squads(squads):
            raise messages.RequestError(
                messages.FORBIDDEN, "filter asks for a squad your token does not grant", request.id
            )
        if environments is not None and not principal.allows_environments(environments):
            raise messages.RequestError(
                messages.FORBIDDEN, "filter asks for an environment your token does not grant", request.id
            )
        if request.resume_from is not None:
            self._resume_from(request.resume_from, request.id)
        topic_filter = TopicFilter(
            squads=frozenset(squads) if squads is not None else None,
            environments=frozenset(environments) if environments is not None else None,
        )
        current = self.subscriber.topics if self.subscriber.topics is not None else {}
        self._set_topics({**current, **dict.fromkeys(topics, topic_filter)})
        self._send(self._subscription_ack("subscribe", request.id))

    def _resume_from(self, position: int, request_id: messages.RequestId | None) -> None:
        if self.subscriber.delivered or self._catch_up is not None:
            raise messages.RequestError(
                messages.RESUME_NOT_ALLOWED,
                "resume_from is only accepted before the first event; reconnect with ?last_event_id=",
                request_id,
            )
        self._hub.detach(self.subscriber)
        self.subscriber.cursor = position
        self._catch_up = asyncio.create_task(self._catch_up_or_close())

    def _unsubscribe(self, request: messages.UnsubscribeRequest) -> None:
        topics = self._topics(messages.as_list(request.topics), request.id)
        current = self.subscriber.topics
        if current is None:
            current = dict.fromkeys(sorted(set(messages.TOPICS.values())), TopicFilter())
        self._set_topics({name: f for name, f in current.items() if name not in topics})
        self._send(self._subscription_ack("unsubscribe", request.id))

    def _set_topics(self, topics: dict[str, TopicFilter]) -> None:
        metrics.subscriptions_moved(self.subscriber.topics, topics)
        self.subscriber.topics = topics
        self._hub.refresh(self.subscriber)

    def _subscription_ack(
        self, action: Literal["subscribe", "unsubscribe"], request_id: messages.RequestId | None
    ) -> bytes:
        topics = self.subscriber.topics
        described: dict[str, messages.TopicFilterInfo] = (
            {name: _describe(f) for name, f in sorted(topics.items())}
            if topics is not None
            else {name: messages.TopicFilterInfo() for name in sorted(set(messages.TOPICS.values()))}
        )
        return messages.subscription_ack_frame(
            action, request_id, described, position=self._hub.position_of(self.subscriber)
        )

    async def _publish(self, request: messages.PublishNotification) -> None:
        try:
            notification, _ = await notifications.publish(
                self._runtime.engine, self.subscriber.principal, request.data, request.to
            )
        except Forbidden as exc:
            raise messages.RequestError(messages.FORBIDDEN, exc.message, request.id) from None
        except InvalidPayload as exc:
            raise messages.RequestError(messages.INVALID_MESSAGE, exc.message, request.id) from None
        except StoreUnavailable:
            raise messages.RequestError(
                messages.UNAVAILABLE, "the database is unavailable; try again", request.id
            ) from None
        self._send(messages.notification_ack_frame(request.id, notification.id))

    def _reauthenticate(self, request: messages.AuthRequest) -> None:
        try:
            principal = self._runtime.verifier.verify(request.token)
        except TokenError as exc:
            raise messages.RequestError(messages.TOKEN_INVALID, exc.reason, request.id) from None
        if principal.sub != self.subscriber.principal.sub:
            raise messages.RequestError(messages.FORBIDDEN, "a fresh token must be for the same subject", request.id)
        self.subscriber.principal = principal
        self._hub.refresh(self.subscriber)
        self._schedule_expiry()
        self._send(messages.auth_ack_frame(request.id, principal.expires_at))

    def _schedule_expiry(self) -> None:
        if self._expiry is not None:
            self._expiry.cancel()
        delay = (self.subscriber.principal.expires_at - utcnow()).total_seconds()
        delay += self._runtime.settings.jwt_leeway_seconds
        self._expiry = asyncio.get_running_loop().call_later(max(delay, 0.0), self._expire)

    def _expire(self) -> None:
        metrics.DROPPED_EXPIRED.inc()
        self._hub.detach(self.subscriber)
        self._sink.close(messages.TOKEN_EXPIRED_CLOSE, "token expired: reconnect with a fresh token")


def _describe(topic_filter: TopicFilter) -> messages.TopicFilterInfo:
    squads, environments = topic_filter.squads, topic_filter.environments
    return messages.TopicFilterInfo(
        squad=sorted(squads) if squads is not None else MISSING,
        environment=sorted(environments) if environments is not None else MISSING,
    )
