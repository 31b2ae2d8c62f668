"""Reading a request body safely: bounded before it is read whole, JSON only."""

from __future__ import annotations

from typing import Any

import orjson
from fastapi import Request

from app.errors import BodyTooLarge, MalformedBody


async def read_limited(request: Request, limit: int) -> bytes:
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > limit:
        raise BodyTooLarge(f"body of {int(declared)} bytes is larger than {limit} bytes", size=int(declared))
    chunks, size = [], 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise BodyTooLarge(f"body is larger than {limit} bytes", size=size)
        chunks.append(chunk)
    return b"".join(chunks)


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
