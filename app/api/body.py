"""Reading a request body safely: bounded before it is read whole (JSON is read by app/adapters/json_body.py)."""

from __future__ import annotations

from fastapi import Request

from app.errors import BodyTooLarge


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
