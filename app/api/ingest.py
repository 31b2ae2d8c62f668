"""The path every webhook takes, whoever sends it.

    read (bounded) -> authenticate the sender (raw bytes) -> parse JSON ->
    translate (the sender's pure adapter) -> one transaction:
        record the raw delivery (a redelivery stops here) + apply the change
        and its events -> answer

Answers: 200 stored / unchanged / duplicate; 202 ignored (well formed, not for
us); 400 not JSON; 401 credentials; 413 too large; 422 wrong shape (the body is
kept in the delivery log with its error, for reprocessing after a mapping
fix; nothing else is stored and nothing is sent); 503 database unavailable
(nothing stored: the sender retries).
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Generic, Literal, TypeVar

import orjson
from fastapi import Request
from fastapi.responses import JSONResponse
from sqlalchemy.ext.asyncio import AsyncConnection

from app.api.batch_writer import SetWriter
from app.api.body import parse_json
from app.api.deps import runtime_of
from app.api.refusals import read_body
from app.clock import utcnow
from app.config import Settings
from app.domain.deliveries import Ignored
from app.errors import InvalidPayload, RateLimited
from app.observability.webhooks import observe_webhook
from app.store import deliveries

_log = logging.getLogger(__name__)

Change = TypeVar("Change")


@dataclass(frozen=True, slots=True)
class Sender(Generic[Change]):
    """One sender format, wired into the common path."""

    name: str
    # Raises Unauthenticated; sees the raw body (signatures are over bytes).
    authenticate: Callable[[Request, bytes, Settings], None]
    # Pure: parsed JSON in, a change (or Ignored) out; raises InvalidPayload.
    translate: Callable[[Any, datetime, Settings], Change | Ignored]
    # Writes the change and its events in the caller's transaction; returns how many events.
    apply: Callable[[AsyncConnection, Change, datetime], Awaitable[int]]
    # The sender's delivery id, when it sends one (for redeliveries).
    delivery_key: Callable[[Request], str | None] = lambda _request: None
    # Applies many changes as a set, in arrival order: deliveries arriving
    # together are then written in one transaction (app/api/batch_writer.py).
    set_writer: SetWriter[Change] | None = None
    # The setting that bounds this sender's bodies (app/api/refusals.py).
    body_limit: str = "max_webhook_body_bytes"


class _AnswerResponse(JSONResponse):
    """An answer's few shapes (fixed keys, a count, a sanitized event name) come out of
    orjson as the same bytes as out of JSONResponse's json.dumps, in a third of the time."""

    def render(self, content: Any) -> bytes:
        return orjson.dumps(content)


@dataclass(frozen=True, slots=True)
class _Answer:
    """What the path did with a delivery that it took."""

    status: Literal["stored", "unchanged", "duplicate", "ignored"]
    events: int = 0
    # What an ignored delivery was about (the sender's event name).
    event: str | None = None

    @staticmethod
    def applied(produced: int) -> _Answer:
        return _Answer("stored" if produced else "unchanged", produced)

    def response(self) -> JSONResponse:
        if self.status == "ignored":
            return _AnswerResponse({"status": "ignored", "event": self.event}, status_code=202)
        return _AnswerResponse({"status": self.status, "events": self.events}, status_code=200)


async def receive(request: Request, sender: Sender[Change]) -> JSONResponse:
    with observe_webhook(sender.name, sender.delivery_key(request)) as observation:  # metrics and the log line
        answer = await _receive(request, sender)
        response = answer.response()
        observation.answered(answer.status, response.status_code, events=answer.events, detail=answer.event)
        return response


async def _receive(request: Request, sender: Sender[Change]) -> _Answer:
    runtime = runtime_of(request)
    settings = runtime.settings
    bucket = runtime.sender_limits.get(sender.name)
    if bucket is not None and not bucket.take():
        # Before the body is read: a flood costs us as little as possible.
        raise RateLimited(
            f"more than {settings.webhook_rate_limit_per_second:g} {sender.name} deliveries a second; retry later",
            retry_after=bucket.wait_seconds(),
        )
    raw = await read_body(request, sender, runtime)
    sender.authenticate(request, raw, settings)
    body = parse_json(raw)
    now = utcnow()
    key = sender.delivery_key(request)
    headers = deliveries.keepable_headers(request.headers)
    query = deliveries.keepable_query(request.query_params)
    try:
        change = sender.translate(body, now, settings)
    except InvalidPayload as exc:
        async with runtime.engine.begin() as conn:
            await deliveries.record_new(
                conn, sender=sender.name, delivery_key=key, headers=headers, body=raw,
                outcome="rejected", error=exc.message, query=query,
            )  # fmt: skip
        raise
    if isinstance(change, Ignored):
        async with runtime.engine.begin() as conn:
            await deliveries.record_new(
                conn, sender=sender.name, delivery_key=key, headers=headers, body=raw, outcome="ignored", query=query
            )
        return _Answer("ignored", event=change.what)
    if sender.set_writer is not None:
        produced = await runtime.writer(sender.name, sender.set_writer).write(
            deliveries.Received(key, headers, raw, query), change, now
        )
        return _Answer("duplicate") if produced is None else _Answer.applied(produced)
    async with runtime.engine.begin() as conn:
        delivery_id = await deliveries.record_new(
            conn, sender=sender.name, delivery_key=key, headers=headers, body=raw, outcome="applied", query=query
        )
        if delivery_id is None:
            return _Answer("duplicate")
        produced = await sender.apply(conn, change, now)
        if not produced:
            await deliveries.set_outcome(conn, delivery_id, "unchanged")
    return _Answer.applied(produced)
