"""Jira: Cloud and Server/Data Center webhooks (signed, or with a shared token) and
Automation's "Send web request" (the issue's data without an envelope, read only
when it comes with JIRA_WEBHOOK_TOKEN). Issues become incidents or tasks by the
mapping the settings describe (app/adapters/jira/)."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime
from typing import Any

from starlette.requests import Request

from app.adapters.jira.mapping import JiraMapping, SquadRule
from app.adapters.jira.webhook import SNAPSHOT_REFUSED, parse_delivery
from app.auth.webhook_signatures import bearer_or_basic_password, require, same_secret, valid_hmac_sha256
from app.config import Settings
from app.db.driver import PgConnection
from app.domain.deliveries import Ignored
from app.domain.issues import IssueChange
from app.senders.sender import Registered, Sender
from app.store.deliveries import Delivery
from app.store.issues import ISSUE_WRITER, apply_issue_change

# Senders that cannot sign (Jira Server, Automation) present a shared token
# instead: in one of these headers, as the password of basic auth or a bearer
# token, or as ?secret= (or ?token=) in the URL, for Server's webhooks, which
# can set nothing else.
_TOKEN_HEADERS = ("x-automation-webhook-token", "x-ops-bridge-token")
_TOKEN_PARAMETERS = ("secret", "token")


def _authenticate(request: Request, body: bytes, settings: Settings) -> None:
    secret = settings.jira_webhook_secret.get_secret_value() if settings.jira_webhook_secret else None
    token = settings.jira_webhook_token.get_secret_value() if settings.jira_webhook_token else None
    if secret is None and token is None:
        return
    signature = request.headers.get("x-hub-signature")
    signed = secret is not None and valid_hmac_sha256(secret, body, signature, prefix="sha256=")
    require(
        signed or _presents(request, secret) or _presents(request, token),
        "Jira signature (X-Hub-Signature) or webhook token",
    )


def _presents(request: Request, expected: str | None) -> bool:
    """Whether the request carries `expected` as a token (header, basic password, bearer or query)."""
    if expected is None:
        return False
    presented = [request.headers.get(name) for name in _TOKEN_HEADERS]
    presented += [bearer_or_basic_password(request)] + [request.query_params.get(p) for p in _TOKEN_PARAMETERS]
    return any(same_secret(expected, value) for value in presented)


def snapshots_allowed(request: Request, settings: Settings) -> bool:
    """Whether this delivery may be read as an Automation snapshot: it came with the
    Automation token, or no Jira credential is set at all (development)."""
    if settings.jira_webhook_secret is None and settings.jira_webhook_token is None:
        return True
    token = settings.jira_webhook_token.get_secret_value() if settings.jira_webhook_token else None
    return _presents(request, token)


class _MappingCache:
    """The mapping is built from settings once, on first use, not per request."""

    def __init__(self) -> None:
        self._built: tuple[Settings, JiraMapping] | None = None

    def __call__(self, settings: Settings) -> JiraMapping:
        built = self._built
        if built is None or built[0] is not settings:
            built = (settings, jira_mapping(settings))
            self._built = built
        return built[1]


def jira_mapping(settings: Settings) -> JiraMapping:
    return JiraMapping.build(
        incident_issue_types=settings.incident_issue_types,
        priorities=settings.jira_priority_map,
        incident_statuses=settings.jira_incident_status_map,
        task_statuses=settings.jira_task_status_map,
        squads=SquadRule(
            custom_field=settings.jira_squad_field,
            from_component=settings.jira_squad_from_component,
            label_prefix=settings.jira_squad_label_prefix,
            projects={key.upper(): squad for key, squad in settings.jira_squad_project_map.items()},
        ),
    )


_mapping_for = _MappingCache()


def _translate(body: Any, received_at: datetime, settings: Settings) -> IssueChange | Ignored:
    return parse_delivery(body, _mapping_for(settings), received_at=received_at, snapshots=False)


def _translate_with_snapshots(body: Any, received_at: datetime, settings: Settings) -> IssueChange | Ignored:
    return parse_delivery(body, _mapping_for(settings), received_at=received_at, snapshots=True)


async def _apply(conn: PgConnection, change: IssueChange, now: datetime) -> int:
    return await apply_issue_change(conn, change, now=now)


# A delivery without the Automation token: only webhook envelopes are read.
JIRA: Sender[IssueChange] = Sender(
    name="jira",
    authenticate=_authenticate,
    translate=_translate,
    apply=_apply,
    delivery_key=lambda request: request.headers.get("x-atlassian-webhook-identifier"),
    set_writer=ISSUE_WRITER,
)
# One with it: Automation's issue data (no envelope) is read too.
JIRA_AUTOMATION: Sender[IssueChange] = replace(JIRA, translate=_translate_with_snapshots)


def for_request(request: Request, settings: Settings) -> Sender[IssueChange]:
    """Automation's snapshots are read only from a delivery that came with its token."""
    return JIRA_AUTOMATION if snapshots_allowed(request, settings) else JIRA


def _for_delivery(delivery: Delivery) -> Sender[IssueChange]:
    """A stored Jira delivery passed authentication when it arrived; it is read as an
    Automation snapshot again unless it was refused as one for lacking the Automation
    token (the credential is not kept, its refusal is)."""
    refused = delivery.error is not None and delivery.error.startswith(SNAPSHOT_REFUSED)
    return JIRA if refused else JIRA_AUTOMATION


REGISTERED = Registered("jira", "jira", lambda _query: JIRA, rebuild=_for_delivery)
