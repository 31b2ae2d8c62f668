"""POST /api/webhooks/jira: Jira Cloud, Server/Data Center and Automation deliveries (sender: app/senders/jira.py)."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse

from app.api import webhook_docs
from app.api.webhook_path import receive
from app.runtime import runtime_of
from app.senders import jira

router = APIRouter(tags=["webhooks"])


@router.post(
    "/api/webhooks/jira",
    summary="Receive a Jira webhook",
    responses=webhook_docs.responses(
        "Stored (`events` counts the messages it produced), unchanged, or a duplicate (same webhook identifier)",
        "A well-formed delivery about something else (sprint, worklog, comment, ...): ignored",
        e422="INVALID_PAYLOAD: JSON, but not a Jira issue event; the message names the field",
    ),
    openapi_extra=webhook_docs.request_body("jira"),
)
async def receive_jira(request: Request) -> JSONResponse:
    """Jira Cloud, Server/Data Center and Automation deliveries. Issue types named in INCIDENT_ISSUE_TYPES
    become incidents, the others tasks; `jira:issue_deleted` deletes. With JIRA_WEBHOOK_SECRET or
    JIRA_WEBHOOK_TOKEN set, the delivery needs a valid `X-Hub-Signature` or the token (docs/jira.md); a body
    without `webhookEvent` (Automation's issue data) is read only with JIRA_WEBHOOK_TOKEN, else 422."""
    return await receive(request, jira.for_request(request, runtime_of(request).settings))
