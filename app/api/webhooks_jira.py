"""POST /api/webhooks/jira: Jira Cloud, Server/Data Center and Automation deliveries."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from sqlalchemy.ext.asyncio import AsyncConnection

from app.adapters.jira.mapping import JiraMapping
from app.adapters.jira.webhook import parse_delivery
from app.api.ingest import Sender, receive
from app.auth.webhook_signatures import require, same_secret, valid_hmac_sha256
from app.config import Settings
from app.domain.deliveries import Ignored
from app.domain.issues import IssueChange
from app.store.issues import apply_issue_change

router = APIRouter(tags=["webhooks"])

# Jira Server/Data Center and Automation cannot sign: they may send the secret
# itself in one of these headers, or as ?secret= in the URL.
_TOKEN_HEADERS = ("x-automation-webhook-token", "x-ops-bridge-token")


def _authenticate(request: Request, body: bytes, settings: Settings) -> None:
    if settings.jira_webhook_secret is None:
        return
    secret = settings.jira_webhook_secret.get_secret_value()
    signed = valid_hmac_sha256(secret, body, request.headers.get("x-hub-signature"), prefix="sha256=")
    presented = [request.headers.get(name) for name in _TOKEN_HEADERS] + [request.query_params.get("secret")]
    require(signed or any(same_secret(secret, value) for value in presented), "Jira signature (X-Hub-Signature)")


def _translate(body: Any, received_at: datetime, settings: Settings) -> IssueChange | Ignored:
    mapping = JiraMapping(incident_issue_types=frozenset(t.lower() for t in settings.incident_issue_types))
    return parse_delivery(body, mapping, received_at=received_at)


async def _apply(conn: AsyncConnection, change: IssueChange, now: datetime) -> int:
    return await apply_issue_change(conn, change, now=now)


JIRA: Sender[IssueChange] = Sender(
    name="jira",
    authenticate=_authenticate,
    translate=_translate,
    apply=_apply,
    delivery_key=lambda request: request.headers.get("x-atlassian-webhook-identifier"),
)


@router.post(
    "/api/webhooks/jira",
    summary="Receive a Jira webhook",
    responses={
        200: {"description": "Stored (`events` counts the messages it produced), unchanged, or a duplicate"},
        202: {"description": "A well-formed delivery about something else (sprint, worklog, ...): ignored"},
        400: {"description": "Not JSON"},
        401: {"description": "JIRA_WEBHOOK_SECRET is set and the signature or token is missing or wrong"},
        413: {"description": "Body over MAX_WEBHOOK_BODY_BYTES"},
        422: {"description": "JSON, but not a Jira issue event"},
        503: {"description": "Database unavailable: Jira retries"},
    },
)
async def receive_jira(request: Request) -> JSONResponse:
    return await receive(request, JIRA)
