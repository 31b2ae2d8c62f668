"""Answers the edge writes itself, before or instead of the application: whole HTTP
responses in the service's error shape, always ending the connection."""

from __future__ import annotations

from collections.abc import Iterable

import orjson
from uvicorn.protocols.http.httptools_impl import STATUS_LINE

from app.errors import error_body


def refusal(status: int, code: str, message: str, headers: Iterable[tuple[bytes, bytes]] = ()) -> bytes:
    """The bytes of a complete `status` response with a JSON error body and `connection: close`."""
    body = orjson.dumps(error_body(code, message))
    head = [STATUS_LINE[status]]
    for name, value in headers:
        head += [name, b": ", value, b"\r\n"]
    head += [
        b"content-type: application/json\r\n",
        b"content-length: %d\r\n" % len(body),
        b"connection: close\r\n\r\n",
    ]
    return b"".join(head) + body
