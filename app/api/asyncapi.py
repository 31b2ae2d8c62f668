"""GET /asyncapi.json: the socket's protocol as an AsyncAPI 3.0 document (docs/asyncapi.md).

No token needed: like /openapi.json, it describes the service, not its data.
"""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse

from app.runtime import runtime_of
from app.ws.asyncapi import ASYNCAPI_VERSION, document, with_server

router = APIRouter(tags=["documentation"])


@router.get(
    "/asyncapi.json",
    summary="The WebSocket protocol as an AsyncAPI document",
    response_class=JSONResponse,
    responses={
        200: {
            "description": f"An AsyncAPI {ASYNCAPI_VERSION} document: every message of `/api/ws`, both ways, "
            "with its JSON Schema and an example; the server is the one asked",
            "content": {
                "application/json": {
                    "schema": {"type": "object", "required": ["asyncapi", "info", "channels", "operations"]},
                    "example": {"asyncapi": ASYNCAPI_VERSION, "info": {"title": "Ops Bridge stream"}},
                }
            },
        }
    },
)
async def asyncapi_document(request: Request) -> JSONResponse:
    """Generated from the models the service sends and parses: what it describes is what goes over the wire."""
    settings = runtime_of(request).settings
    base = document(request.app.version, settings.session_cookie_name, settings.allow_query_token)
    host = request.headers.get("host") or f"{settings.host}:{settings.port}"
    return JSONResponse(with_server(base, host, secure=request.url.scheme == "https"))
