"""A notification as a publisher asks for it (over HTTP or the socket), checked
and cleaned, and the stored notification it becomes."""

from __future__ import annotations

import uuid
from typing import Annotated, Any

import orjson
from pydantic import BaseModel, ConfigDict, Field, StrictStr, field_validator

from app.contract.payloads import NotificationData, NotificationPriority, NotificationType
from app.normalize.text import clean, plain_json

TITLE_BYTES = 512
MESSAGE_BYTES = 4096
METADATA_BYTES = 2048
MAX_RECIPIENTS = 500


class NotificationInput(BaseModel):
    """The contract's notification `data`, minus the `id` the service assigns."""

    model_config = ConfigDict(extra="forbid", populate_by_name=True, frozen=True)

    title: Annotated[StrictStr, Field(min_length=1, max_length=4 * TITLE_BYTES)]
    message: Annotated[StrictStr, Field(min_length=1, max_length=4 * MESSAGE_BYTES)]
    type: NotificationType = "info"
    priority: NotificationPriority = "normal"
    action_url: Annotated[StrictStr | None, Field(alias="actionUrl", max_length=512)] = None
    metadata: dict[str, Any] | None = None

    @field_validator("action_url")
    @classmethod
    def _relative_route(cls, value: str | None) -> str | None:
        if value is not None and not same_origin_path(value):
            raise ValueError(
                "actionUrl must be a path of the frontend: a single '/' first, no backslash, "
                "no whitespace or control characters (percent-encode them)"
            )
        return value

    @field_validator("metadata")
    @classmethod
    def _small_metadata(cls, value: dict[str, Any] | None) -> dict[str, Any] | None:
        if value is not None and len(orjson.dumps(value)) > METADATA_BYTES:
            raise ValueError(f"metadata must serialize to at most {METADATA_BYTES} bytes")
        return value


def same_origin_path(url: str) -> bool:
    r"""A path browsers resolve against the page's own origin, never to another host.

    Browsers (the WHATWG URL parser) drop tabs and newlines anywhere in a URL,
    trim leading spaces and control characters, and read `\` as `/`: so
    `/\evil.com` and `/<TAB>/evil.com` are `//evil.com`, another host. Such
    characters are refused outright rather than second-guessed."""
    if not url.startswith("/") or url.startswith("//"):
        return False
    return not any(char == "\\" or char.isspace() or ord(char) < 0x20 or ord(char) == 0x7F for char in url)


# At least one addressee when `to` is given: leave it out to notify everyone allowed
# (an empty list would reach no one but admins).
Recipients = Annotated[
    list[Annotated[StrictStr, Field(min_length=1, max_length=320, pattern=r"\S")]],
    Field(min_length=1, max_length=MAX_RECIPIENTS),
]


def new_notification(request: NotificationInput) -> NotificationData:
    """The notification to store and send: an id of ours, user text made plain."""
    title = clean(request.title, TITLE_BYTES)
    message = clean(request.message, MESSAGE_BYTES)
    if title is None or message is None:
        raise ValueError("title and message must keep some text once markup is removed")
    return NotificationData(
        id=f"notif-{uuid.uuid4().hex}",
        title=title,
        message=message,
        type=request.type,
        priority=request.priority,
        action_url=request.action_url,
        metadata=plain_json(request.metadata),
    )
