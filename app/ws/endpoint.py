"""GET /api/ws: the contract's stream (dispatched by app.asgi, not by FastAPI's router)."""

from __future__ import annotations

import logging

from fastapi import WebSocket
from fastapi.responses import JSONResponse

from app.auth.tokens import TokenError
from app.errors import error_body
from app.logs import request_id
from app.observability.connections import observed_connection
from app.observability.requests import HEADER
from app.runtime import runtime_of
from app.ws.handshake import accept_credentials
from app.ws.session import Session
from app.ws.transport import frame_sink

STREAM_PATH = "/api/ws"
_log = logging.getLogger(__name__)


async def _deny(websocket: WebSocket, status: int, code: str, message: str) -> None:
    # Refuse the handshake with a real HTTP status, not an accept-then-close, carrying the
    # connection's request id as every HTTP answer does.
    headers = {HEADER: request_id.get() or ""}
    await websocket.send_denial_response(JSONResponse(error_body(code, message), status_code=status, headers=headers))


async def stream(websocket: WebSocket) -> None:
    """One subscriber's connection, from the handshake to the close."""
    runtime = runtime_of(websocket)
    sink = frame_sink(websocket.scope)
    if sink is None:
        _log.error("/api/ws needs the server started by 'ops-bridge serve' (BridgeWebSocketProtocol)")
        await _deny(websocket, 500, "SERVER_MISCONFIGURED", "WebSocket transport unavailable")
        return
    if not runtime.serves_sockets:
        role = runtime.settings.role
        await _deny(websocket, 404, "NOT_FOUND", f"this process (ROLE={role}) holds no sockets: connect to an edge")
        return
    if not runtime.listener.ready:
        await _deny(websocket, 503, "NOT_READY", "not connected to the event log yet; retry shortly")
        return
    try:
        handshake = accept_credentials(websocket, runtime.verifier, runtime.settings)
    except TokenError as exc:
        code = "FORBIDDEN" if exc.status == 403 else "UNAUTHENTICATED"
        await _deny(websocket, exc.status, code, exc.reason)
        return
    raw_resume = websocket.query_params.get("last_event_id")
    resume_from = None
    if raw_resume is not None:
        if not raw_resume.isdigit() or len(raw_resume) > 18:
            await _deny(websocket, 400, "INVALID_RESUME", "last_event_id must be a non-negative integer")
            return
        resume_from = int(raw_resume)
    sub = handshake.principal.sub
    if runtime.connections_by_user[sub] >= runtime.settings.ws_max_connections_per_user:
        limit = runtime.settings.ws_max_connections_per_user
        await _deny(websocket, 429, "TOO_MANY_CONNECTIONS", f"at most {limit} connections per user")
        return
    runtime.connections_by_user[sub] += 1
    try:
        await websocket.accept(subprotocol=handshake.subprotocol)
        sink.limit_kernel_buffer(runtime.settings.ws_socket_send_buffer_bytes)
        session = Session(websocket, sink, handshake, runtime)
        with observed_connection(session, sub=sub, carrier=handshake.carrier):
            await session.run(resume_from)
    finally:
        runtime.connections_by_user[sub] -= 1
        if runtime.connections_by_user[sub] <= 0:
            del runtime.connections_by_user[sub]
