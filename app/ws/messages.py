"""What travels over the socket besides events: client requests in, control
messages out. docs/protocol.md shows each with an example."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

import orjson
from pydantic import BaseModel, ConfigDict, Field, StrictInt, StrictStr, TypeAdapter, ValidationError

from app.clock import iso, utcnow
from app.domain.notifications import NotificationInput, Recipients
from app.events.model import text_frame

# Error codes (stable: clients branch on them).
INVALID_MESSAGE = "INVALID_MESSAGE"
UNKNOWN_ACTION = "UNKNOWN_ACTION"
UNKNOWN_TOPIC = "UNKNOWN_TOPIC"
FORBIDDEN = "FORBIDDEN"
RATE_LIMITED = "RATE_LIMITED"
RESUME_NOT_ALLOWED = "RESUME_NOT_ALLOWED"
RESUME_POSITION_UNKNOWN = "RESUME_POSITION_UNKNOWN"
RESUME_TOO_OLD = "RESUME_TOO_OLD"
TOKEN_INVALID = "TOKEN_INVALID"  # noqa: S105 - an error code
UNAVAILABLE = "UNAVAILABLE"

# Close codes besides the standard ones (1001 going away, 1008 policy, 1009 too big).
TOKEN_EXPIRED_CLOSE = 4001

TOPICS: dict[str, str] = {
    name: topic
    for topic in ("incident", "task", "asset", "alert", "notification", "metric")
    for name in (topic, topic + "s")
}

RequestId = StrictStr | StrictInt
OneOrMany = StrictStr | list[StrictStr]


class _Request(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    id: RequestId | None = None


class Filters(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    squad: OneOrMany | None = None
    environment: OneOrMany | None = None


class SubscribeRequest(_Request):
    action: Literal["subscribe"]
    topics: OneOrMany | None = None
    filters: Filters | None = None
    resume_from: Annotated[int, Field(ge=0)] | None = None


class UnsubscribeRequest(_Request):
    action: Literal["unsubscribe"]
    topics: OneOrMany


class PingRequest(_Request):
    action: Literal["ping"]


class AuthRequest(_Request):
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

    def __init__(self, code: str, message: str, request_id: RequestId | None = None) -> None:
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
    request_id = raw.get("id") if isinstance(raw.get("id"), str | int) else None
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


def control_frame(kind: str, action: str, data: dict[str, Any], at: datetime | None = None) -> bytes:
    message = {"type": kind, "action": action, "data": data, "timestamp": iso(at or utcnow())}
    return text_frame(orjson.dumps(message))


def error_frame(code: str, message: str, request_id: RequestId | None = None) -> bytes:
    return control_frame("error", "created", {"code": code, "message": message, "original_message_id": request_id})


def ack_frame(action: str, request_id: RequestId | None, **data: Any) -> bytes:
    return control_frame("ack", action, {"original_message_id": request_id, **data})


def pong_frame(request_id: RequestId | None) -> bytes:
    # The contract's pong is {"action": "pong", "timestamp": ...}; `type` and
    # `data` are additions a client written against the contract ignores.
    return control_frame("pong", "pong", {"original_message_id": request_id})
