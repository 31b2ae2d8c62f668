"""The route class of the JSON REST API: a body is bounded before it is read
whole, must say it is JSON, and is answered 400 when it is not JSON, like a
webhook's. All before FastAPI parses it, so each answer has the service's error shape."""

from __future__ import annotations

from collections.abc import Callable, Coroutine
from email.message import Message
from typing import Any

import orjson
from fastapi import Request, Response
from fastapi.exceptions import RequestValidationError
from fastapi.routing import APIRoute

from app.api.body import read_limited
from app.errors import InputError, MalformedBody
from app.runtime import runtime_of


class UnsupportedMediaType(InputError):
    status = 415
    code = "UNSUPPORTED_MEDIA_TYPE"


class _BoundedRequest(Request):
    async def body(self) -> bytes:
        if not hasattr(self, "_body"):
            self._body = await read_limited(self, runtime_of(self).settings.max_api_body_bytes)
        return self._body

    async def json(self) -> Any:
        # orjson, not json: strict JSON (no NaN or Infinity, which PostgreSQL's
        # jsonb refuses) and faster on a large snapshot. Its error is a JSONDecodeError.
        if not hasattr(self, "_json"):
            self._json = orjson.loads(await self.body())
        return self._json


def _is_json(content_type: str | None) -> bool:
    if content_type is None:
        return False
    message = Message()
    message["content-type"] = content_type
    subtype = message.get_content_subtype()
    return message.get_content_maintype() == "application" and (subtype == "json" or subtype.endswith("+json"))


class JsonApiRoute(APIRoute):
    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()
        takes_body = self.body_field is not None

        async def handle(request: Request) -> Response:
            bounded = _BoundedRequest(request.scope, request.receive)
            if takes_body:
                # Read (and bound) it here: FastAPI turns any error while reading into a bare 400.
                body = await bounded.body()
                if body and not _is_json(request.headers.get("content-type")):
                    raise UnsupportedMediaType("send the body as JSON, with 'Content-Type: application/json'")
            try:
                return await handler(bounded)
            except RequestValidationError as exc:
                if any(error.get("type") == "json_invalid" for error in exc.errors()):
                    raise MalformedBody("body is not valid JSON (or not UTF-8)") from None
                raise

        return handle
