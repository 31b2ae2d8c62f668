"""The socket's protocol as an AsyncAPI 3.0 document, generated from the models
the code sends and parses (app/contract/events.py, app/ws/messages.py), so the
document and the wire cannot drift. Served at `GET /asyncapi.json`; docs/asyncapi.md
explains it.

The document describes the service: it *sends* events and control messages and
*receives* client requests, each request's answers declared as its reply.
"""

from __future__ import annotations

import functools
from typing import Any, Literal

from pydantic import BaseModel
from pydantic.json_schema import models_json_schema

from app.contract import events as ev
from app.ws import messages
from app.ws.asyncapi_examples import examples
from app.ws.endpoint import STREAM_PATH

ASYNCAPI_VERSION = "3.0.0"
CHANNEL = "stream"
_SCHEMAS = "#/components/schemas/"

# Message name -> model, server to client.
EVENTS: dict[str, type[BaseModel]] = {
    model.__name__[0].lower() + model.__name__[1:]: model for model in ev.EVENT_MESSAGES
}
CONTROLS: dict[str, type[BaseModel]] = {
    "connectionEstablished": messages.ConnectionEstablished,
    "subscriptionAck": messages.SubscriptionAck,
    "authAck": messages.AuthAck,
    "notificationAck": messages.NotificationAck,
    "pong": messages.Pong,
    "error": messages.ErrorMessage,
}
# Client to server, with the messages that answer each.
REQUESTS: dict[str, tuple[type[BaseModel], tuple[str, ...]]] = {
    "subscribe": (messages.SubscribeRequest, ("subscriptionAck", "error")),
    "unsubscribe": (messages.UnsubscribeRequest, ("subscriptionAck", "error")),
    "ping": (messages.PingRequest, ("pong",)),
    "auth": (messages.AuthRequest, ("authAck", "error")),
    "publishNotification": (messages.PublishNotification, ("notificationAck", "error")),
}
SERVER_MESSAGES = {**EVENTS, **CONTROLS}
CLIENT_MESSAGES = {name: model for name, (model, _) in REQUESTS.items()}


def _schemas() -> tuple[dict[str, str], dict[str, Any]]:
    """Message name -> its schema's name, and every schema, as components/schemas holds them."""
    wanted: list[tuple[type[BaseModel], Literal["validation", "serialization"]]] = [
        *((model, "serialization") for model in SERVER_MESSAGES.values()),
        *((model, "validation") for model in CLIENT_MESSAGES.values()),
    ]
    refs, top = models_json_schema(wanted, ref_template=_SCHEMAS + "{model}")
    by_model = {model: refs[(model, mode)]["$ref"].removeprefix(_SCHEMAS) for model, mode in wanted}
    names = {name: by_model[model] for name, model in {**SERVER_MESSAGES, **CLIENT_MESSAGES}.items()}
    return names, top.get("$defs", {})


def _message(name: str, model: type[BaseModel], schema: str, example: dict[str, Any]) -> dict[str, Any]:
    summary, _, description = (model.__doc__ or name).strip().partition("\n\n")
    message: dict[str, Any] = {
        "name": name,
        "title": model.__name__,
        "summary": " ".join(summary.split()),
        "contentType": "application/json",
        "payload": {"$ref": _SCHEMAS + schema},
        "examples": [{"name": f"{name}Example", "payload": example}],
    }
    if description:
        message["description"] = " ".join(description.split())
    return message


def _ref(name: str) -> dict[str, str]:
    return {"$ref": f"#/channels/{CHANNEL}/messages/{name}"}


def _operations() -> dict[str, Any]:
    channel = {"$ref": f"#/channels/{CHANNEL}"}
    operations: dict[str, Any] = {
        "sendEvents": {
            "action": "send", "channel": channel, "title": "Events",
            "summary": "Every change a subscriber may see, once and in order, after the confirmation (and replay).",
            "messages": [_ref(name) for name in EVENTS],
        },
        "sendConnectionEstablished": {
            "action": "send", "channel": channel, "title": "Confirmation",
            "summary": "The first message after the handshake.",
            "messages": [_ref("connectionEstablished")],
        },
        "sendError": {
            "action": "send", "channel": channel, "title": "Errors not tied to a request",
            "summary": "RESUME_POSITION_UNKNOWN or RESUME_TOO_OLD before the confirmation; RATE_LIMITED; "
            "INVALID_MESSAGE for a frame that is not JSON text.",
            "messages": [_ref("error")],
        },
    }  # fmt: skip
    for name, (model, answers) in REQUESTS.items():
        operations["receive" + name[0].upper() + name[1:]] = {
            "action": "receive",
            "channel": channel,
            "summary": " ".join((model.__doc__ or name).strip().split("\n\n")[0].split()),
            "messages": [_ref(name)],
            "reply": {"channel": channel, "messages": [_ref(answer) for answer in answers]},
        }
    return operations


def _security_schemes(session_cookie: str, query_token: bool) -> dict[str, Any]:
    schemes: dict[str, Any] = {
        "bearer": {
            "type": "http", "scheme": "bearer", "bearerFormat": "JWT", "description": "`Authorization: Bearer <jwt>`.",
        },
        "sessionCookie": {
            "type": "httpApiKey", "in": "cookie", "name": session_cookie,
            "description": "Set by `POST /api/session` (named `__Host-<name>` over https); from a browser, only "
            "from the service's own origin or ALLOWED_ORIGINS. A bearer header or subprotocol token outranks it.",
        },
        "subprotocol": {
            "type": "httpApiKey", "in": "header", "name": "Sec-WebSocket-Protocol",
            "description": "For browsers: the subprotocols `bearer, <jwt>`; the server answers `bearer` whenever "
            "it is offered.",
        },
    }  # fmt: skip
    if query_token:
        schemes["queryToken"] = {"type": "httpApiKey", "in": "query", "name": "token", "description": "`?token=<jwt>`."}
    return schemes


_INFO = {
    "title": "Ops Bridge stream",
    "description": (
        "The WebSocket stream of `GET /api/ws`: the contract's messages `{type, action, data, timestamp}` plus `id`, "
        "the event's position in the global event log. A refused handshake gets an HTTP status (400, 401, 403, "
        "404 on a process without sockets, 429, 503) with an error body. Close codes: 1001 server going away, "
        "1008 rate limit, 1009 frame too large, "
        "1011 ping unanswered, 1013 replay could not read the log or an edge lost the broker (resume again), "
        "4001 token expired, 4008 slow "
        "consumer; reconnect with `?last_event_id=`. "
        "Generated from the models the service sends and parses; see docs/protocol.md and docs/asyncapi.md."
    ),
}


def _channel(messages: dict[str, Any]) -> dict[str, Any]:
    return {
        "address": STREAM_PATH,
        "title": "The stream",
        "description": "One connection per client; requests and answers travel on it beside the events.",
        "messages": {name: {"$ref": f"#/components/messages/{name}"} for name in messages},
        "bindings": {
            "ws": {
                "method": "GET",
                "query": {
                    "type": "object",
                    "properties": {
                        "last_event_id": {
                            "type": "string", "pattern": "^[0-9]{1,18}$",
                            "description": "Resume: every event after this position first, once and in order.",
                        },
                        "token": {"type": "string", "description": "Only where ALLOW_QUERY_TOKEN is on."},
                    },
                },
                "bindingVersion": "0.1.0",
            }
        },
    }  # fmt: skip


@functools.cache
def document(version: str, session_cookie: str = "ops_bridge_session", query_token: bool = False) -> dict[str, Any]:
    """The document without `servers` (the caller knows where it is served). Built once per arguments."""
    schema_names, schemas = _schemas()
    example = examples()
    models = {**SERVER_MESSAGES, **CLIENT_MESSAGES}
    messages = {name: _message(name, model, schema_names[name], example[model]) for name, model in models.items()}
    return {
        "asyncapi": ASYNCAPI_VERSION,
        "info": {**_INFO, "version": version},
        "defaultContentType": "application/json",
        "channels": {CHANNEL: _channel(messages)},
        "operations": _operations(),
        "components": {
            "schemas": schemas,
            "messages": messages,
            "securitySchemes": _security_schemes(session_cookie, query_token),
        },
    }


def with_server(base: dict[str, Any], host: str, secure: bool) -> dict[str, Any]:
    """`base` with the server it was asked from: the same host, ws or wss."""
    schemes = base["components"]["securitySchemes"]
    server = {
        "host": host,
        "protocol": "wss" if secure else "ws",
        "description": "This service, as the document was asked from it.",
        "security": [{"$ref": f"#/components/securitySchemes/{name}"} for name in schemes],
    }
    return {**base, "servers": {"ops-bridge": server}}
