"""POST /api/webhooks/jira: Jira Cloud, Server/Data Center and Automation deliveries."""

from __future__ import annotations

import logging
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse

from app.adapters.jira.mapping import JiraMapping
from app.adapters.jira.webhook import Ignored, parse_delivery
from app.api.body import parse_json, read_limited
from app.api.deps import runtime_of
from app.clock import utcnow
from app.store.issues import apply_issue_change

router = APIRouter(tags=["webhooks"])
_log = logging.getLogger(__name__)


@router.post(
    "/api/webhooks/jira",
    summary="Receive a Jira webhook",
    responses={
        200: {"description": "Stored; `events` counts the messages it produced (0: nothing changed)"},
        202: {"description": "A well-formed delivery about something else (sprint, worklog, ...): ignored"},
        400: {"description": "Not JSON"},
        413: {"description": "Body over MAX_WEBHOOK_BODY_BYTES"},
        422: {"description": "JSON, but not a Jira issue event"},
        503: {"description": "Database unavailable: Jira retries"},
    },
)
async def receive_jira(request: Request) -> JSONResponse:
    runtime = runtime_of(request)
    body = parse_json(await read_limited(request, runtime.settings.max_webhook_body_bytes))
    mapping = JiraMapping(incident_issue_types=frozenset(t.lower() for t in runtime.settings.incident_issue_types))
    now = utcnow()
    change = parse_delivery(body, mapping, received_at=now)
    if isinstance(change, Ignored):
        _log.info("jira delivery ignored: %s", change.event)
        return JSONResponse({"status": "ignored", "event": change.event}, status_code=202)
    async with runtime.engine.begin() as conn:
        produced = await apply_issue_change(conn, change, now=now)
    result: dict[str, Any] = {"status": "stored" if produced else "unchanged", "events": produced}
    return JSONResponse(result, status_code=200)
