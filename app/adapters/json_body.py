"""A sender's body as JSON: refused with a message that says what is wrong (empty,
not UTF-8, not JSON), before any adapter reads it."""

from __future__ import annotations

from typing import Any

import orjson

from app.errors import MalformedBody


def parse_json(body: bytes) -> Any:
    if not body.strip():
        raise MalformedBody("body is empty: expected a JSON document")
    try:
        return orjson.loads(body)
    except orjson.JSONDecodeError as exc:
        _require_utf8(body)
        raise MalformedBody(f"body is not valid JSON: {exc}") from None


def _require_utf8(body: bytes) -> None:
    """Say so when the bytes are not UTF-8 at all (a Latin-1 sender, say), rather than blame the JSON."""
    try:
        body.decode()
    except UnicodeDecodeError as exc:
        raise MalformedBody(
            f"body is not UTF-8: byte 0x{body[exc.start]:02x} at offset {exc.start}; JSON must be sent as UTF-8"
        ) from None
