"""What travels over the socket besides events: client requests in, control
messages out. Each is a model here: the frames are built from them and the
AsyncAPI document (app/ws/asyncapi.py, `GET /asyncapi.json`) is generated from
them, so the two cannot drift. docs/protocol.md shows each with an example."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Annotated, Any, Final, Literal, get_args

import orjson
from pydantic import (
    MISSING,
    BaseModel,
    ConfigDict,
    Field,
    StrictInt,
    StrictStr,
    TypeAdapter,
    ValidationError,
)

from app.clock import utcnow
from app.contract.payloads import Timestamp, Topic
from app.domain.notifications import NotificationInput, Recipients
from app.fanout.frames import text_frame

# Error codes (stable: clients branch on them).
INVALID_MESSAGE: Final = "INVALID_MESSAGE"
UNKNOWN_ACTION: Final = "UNKNOWN_ACTION"
UNKNOWN_TOPIC: Final = "UNKNOWN_TOPIC"
FORBIDDEN: Final = "FORBIDDEN"
RATE_LIMITED: Final = "RATE_LIMITED"
RESUME_NOT_ALLOWED: Final = "RESUME_NOT_ALLOWED"
RESUME_POSITION_UNKNOWN: Final = "RESUME_POSITION_UNKNOWN"
RESUME_TOO_OLD: Final = "RESUME_TOO_OLD"
TOKEN_INVALID: Final = "TOKEN_INVALID"  # noqa: S105 - an error code
UNAVAILABLE: Final = "UNAVAILABLE"

ErrorCode = Literal[
    "INVALID_MESSAGE",
    "UNKNOWN_ACTION",
    "UNKNOWN_TOPIC",
    "FORBIDDEN",
    "RATE_LIMITED",
    "RESUME_NOT_ALLOWED",
    "RESUME_POSITION_UNKNOWN",
    "RESUME_TOO_OLD",
    "TOKEN_INVALID",
    "UNAVAILABLE",
]

# Close codes besides the standard ones (1001 going away, 1008 policy, 1009 too big).
TOKEN_EXPIRED_CLOSE = 4001

TOPICS: dict[str, Topic] = {name: topic for topic in get_args(Topic) for name in (topic, topic + "s")}

RequestId = StrictStr | StrictInt
OneOrMany = StrictStr | list[StrictStr]

# Client requests ---------------------------------------------------------------------------------------------------
# Strict types only: the document generated from these accepts exactly what the
# parser below does (a lax `int` would take "5" that the schema refuses).


class _Request(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    id: RequestId | None = Field(default=None, description="Returned as `original_message_id` in the answer.")


class Filters(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    squad: OneOrMany | None = Field(default=None, description="Only events of these squads (within the token's).")
    environment: OneOrMany | None = Field(
        default=None, description="Only events of these environments (within the token's)."
    )


class SubscribeRequest(_Request):
    """Narrow the stream to topics (plural or singular names) and filters; answered by a `subscribe` ack."""

    action: Literal["subscribe"]
    topics: OneOrMany | None = Field(
        default=None, description="incident(s), task(s), asset(s), alert(s), notification(s), metric(s); absent: all."
    )
    filters: Filters | None = None
    resume_from: Annotated[StrictInt, Field(ge=0)] | None = Field(
        default=None, description="Replay what came after this position first (only before the first event)."
    )


class UnsubscribeRequest(_Request):
    """Drop topics; answered by an `unsubscribe` ack."""

    action: Literal["unsubscribe"]
    topics: OneOrMany


class PingRequest(_Request):
    """The contract's heartbeat; answered by a `pong`."""

    action: Literal["ping"]


class AuthRequest(_Request):
    """A fresh token for the same subject, before the current one expires (close 4001 otherwise)."""

    action: Literal["auth"]
    token: StrictStr


class PublishNotification(_Request):
    """A publisher's notification, in the contract's message shape, with optional
    addressees (`to`: `sub`s or e-mail addresses; absent: everyone allowed)."""

    type: Literal["notification"]
    action: Literal["created"]
    data: NotificationInput
    timestamp: StrictStr | None = None
    to: Recipients | None = None


ClientRequest = Annotated[
    SubscribeRequest | UnsubscribeRequest | PingRequest | AuthRequest,
    Field(discriminator="action"),
]
_REQUEST = TypeAdapter(ClientRequest)
ACTIONS = frozenset({"subscribe", "unsubscribe", "ping", "auth"})
AnyRequest = SubscribeRequest | UnsubscribeRequest | PingRequest | AuthRequest | PublishNotification


class RequestError(Exception):
    """A client request that gets an error message back (the connection stays)."""

    def __init__(self, code: ErrorCode, message: str, request_id: RequestId | None = None) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.request_id = request_id


def parse_request(text: str) -> AnyRequest:
    try:
        raw = orjson.loads(text)
    except orjson.JSONDecodeError:
        raise RequestError(INVALID_MESSAGE, "message is not valid JSON") from None
    if not isinstance(raw, dict):
        raise RequestError(INVALID_MESSAGE, "message must be a JSON object")
    request_id = _echoable(raw.get("id"))
    if "type" in raw:
        return _parse_publication(raw, request_id)
    action = raw.get("action")
    if not isinstance(action, str):
        raise RequestError(INVALID_MESSAGE, "message has no 'action'", request_id)
    if action not in ACTIONS:
        raise RequestError(UNKNOWN_ACTION, f"unknown action {action[:40]!r}", request_id)
    try:
        return _REQUEST.validate_python(raw)
    except ValidationError as exc:
        raise _invalid(exc, request_id, skip=1) from None


def _echoable(value: object) -> RequestId | None:
    """The request's `id` if an answer may carry it back: a string or an integer
    (JSON's `true`/`false` are not ids, though Python's bool is an int)."""
    return value if isinstance(value, str | int) and not isinstance(value, bool) else None


def _parse_publication(raw: dict[str, Any], request_id: RequestId | None) -> PublishNotification:
    if raw.get("type") != "notification":
        raise RequestError(FORBIDDEN, "only notifications may be published over the socket", request_id)
    try:
        return PublishNotification.model_validate(raw)
    except ValidationError as exc:
        raise _invalid(exc, request_id, skip=0) from None


def _invalid(exc: ValidationError, request_id: RequestId | None, *, skip: int) -> RequestError:
    first = exc.errors()[0]
    where = ".".join(str(part) for part in first["loc"][skip:]) or "message"
    return RequestError(INVALID_MESSAGE, f"{where}: {first['msg']}"[:300], request_id)


def as_list(value: str | list[str] | None) -> list[str] | None:
    if value is None:
        return None
    return [value] if isinstance(value, str) else value


# Control messages (server to client) -------------------------------------------------------------------------------
# Built once per answer, for one connection; events never pass through here
# (they are serialized once, at write time: app/fanout/frames.py).


class _Control(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class ResumeInfo(_Control):
    # `from` is a Python keyword: the field is `from_`, on the wire `from`.
    model_config = ConfigDict(populate_by_name=True)

    from_: int = Field(alias="from", description="The `last_event_id` (or `resume_from`) the client gave.")
    complete: bool = Field(description="False: events after `from` up to `replay_from` were purged; re-fetch.")
    replay_from: int | MISSING = Field(default=MISSING, description="Where the replay starts when not complete.")


class ConnectionInfo(_Control):
    connection_id: str
    sub: str
    roles: list[str]
    squads: list[str] = Field(description='The squads the token grants; `["*"]`: all.')
    environments: list[str] = Field(description='The environments the token grants; `["*"]`: all.')
    position: int = Field(description="The event-log position the stream starts after.")
    resume: ResumeInfo | None = Field(description="How a resume went; null when the client did not ask for one.")
    heartbeat_interval: float = Field(description="Seconds between the server's WebSocket pings.")


class ConnectionEstablished(_Control):
    """The first message after the handshake: who the connection is, and where its stream starts."""

    type: Literal["connection"] = "connection"
    action: Literal["established"] = "established"
    data: ConnectionInfo
    timestamp: Timestamp


class TopicFilterInfo(_Control):
    squad: list[str] | MISSING = MISSING
    environment: list[str] | MISSING = MISSING


class SubscriptionInfo(_Control):
    original_message_id: RequestId | None
    topics: dict[Topic, TopicFilterInfo] = Field(description="Every topic now received, with its filters.")
    position: int = Field(description="Exact: the events after it are filtered the new way.")


class SubscriptionAck(_Control):
    """The answer to `subscribe` and `unsubscribe`."""

    type: Literal["ack"] = "ack"
    action: Literal["subscribe", "unsubscribe"]
    data: SubscriptionInfo
    timestamp: Timestamp


class AuthInfo(_Control):
    original_message_id: RequestId | None
    expires_at: Timestamp


class AuthAck(_Control):
    """The answer to `auth`: the fresh token is in force until `expires_at`."""

    type: Literal["ack"] = "ack"
    action: Literal["auth"] = "auth"
    data: AuthInfo
    timestamp: Timestamp


class PublishedInfo(_Control):
    original_message_id: RequestId | None
    id: str = Field(description="The stored notification's id (its message follows on the stream).")


class NotificationAck(_Control):
    """The answer to a published notification."""

    type: Literal["ack"] = "ack"
    action: Literal["notification"] = "notification"
    data: PublishedInfo
    timestamp: Timestamp


class PongInfo(_Control):
    original_message_id: RequestId | None


class Pong(_Control):
    """The answer to `ping`. The contract's pong is `{"action": "pong", "timestamp": ...}`;
    `type` and `data` are additions a client written against the contract ignores."""

    type: Literal["pong"] = "pong"
    action: Literal["pong"] = "pong"
    data: PongInfo
    timestamp: Timestamp


class ErrorInfo(_Control):
    code: ErrorCode
    message: str
    original_message_id: RequestId | None = Field(description="The request's `id`; null when it had none.")


class ErrorMessage(_Control):
    """The contract's error: a request that could not be done, or a resume that could not be honoured."""

    type: Literal["error"] = "error"
    action: Literal["created"] = "created"
    data: ErrorInfo
    timestamp: Timestamp


ControlMessage = ConnectionEstablished | SubscriptionAck | AuthAck | NotificationAck | Pong | ErrorMessage


def frame_of(message: ControlMessage) -> bytes:
    """The message's text frame: the model dumped to plain JSON values, encoded by orjson as events are."""
    return text_frame(orjson.dumps(message.model_dump(mode="json", by_alias=True)))


def error_frame(code: ErrorCode, message: str, request_id: RequestId | None = None) -> bytes:
    info = ErrorInfo(code=code, message=message, original_message_id=request_id)
    return frame_of(ErrorMessage(data=info, timestamp=utcnow()))


def subscription_ack_frame(
    action: Literal["subscribe", "unsubscribe"],
    request_id: RequestId | None,
    topics: Mapping[str, TopicFilterInfo],
    position: int,
) -> bytes:
    info = SubscriptionInfo(original_message_id=request_id, topics=topics, position=position)
    return frame_of(SubscriptionAck(action=action, data=info, timestamp=utcnow()))


def auth_ack_frame(request_id: RequestId | None, expires_at: datetime) -> bytes:
    info = AuthInfo(original_message_id=request_id, expires_at=expires_at)
    return frame_of(AuthAck(data=info, timestamp=utcnow()))


def notification_ack_frame(request_id: RequestId | None, notification_id: str) -> bytes:
    info = PublishedInfo(original_message_id=request_id, id=notification_id)
    return frame_of(NotificationAck(data=info, timestamp=utcnow()))


def pong_frame(request_id: RequestId | None) -> bytes:
    return frame_of(Pong(data=PongInfo(original_message_id=request_id), timestamp=utcnow()))
