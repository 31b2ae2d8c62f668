"""Monitoring senders: Alertmanager, Grafana (unified and legacy), the generic
alert shape, Uptime Kuma, and CloudWatch through SNS. Each is a `Sender` on the
common webhook path (app/api/webhook_path.py); the mapping lives in its adapter.

Every route takes optional `?environment=`, `?squad=` and `?severity=` query
parameters: the defaults for alerts whose payload does not say (docs/monitoring.md).
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable, Mapping
from datetime import datetime
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from sqlalchemy.ext.asyncio import AsyncConnection

from app.adapters import alertmanager, cloudwatch_sns, generic_alert, grafana_legacy, grafana_unified, uptime_kuma
from app.api import webhook_docs
from app.api.webhook_path import Sender, receive
from app.auth.alert_senders import authenticate_grafana, require_alert_token
from app.config import Settings
from app.contract.payloads import Severity
from app.domain.alerts import AlertBatch, AlertDefaults
from app.domain.deliveries import Ignored
from app.errors import InvalidPayload, Unauthenticated, error_body
from app.normalize import alerts as vocab
from app.normalize.text import clean
from app.outbound.queue import OutboundCall
from app.outbound.sns import confirmation
from app.store.alerts import ALERT_WRITER, apply_alert_batch

_log = logging.getLogger(__name__)

router = APIRouter(tags=["webhooks"])

_STORED = "Stored (`events` counts the messages it produced) or unchanged"
_IGNORED = "Well formed, nothing to track (a test notification, a pending state...): ignored"
_RESPONSES = webhook_docs.responses(_STORED, _IGNORED)
_AUTH = (
    " Authenticated by ALERT_WEBHOOK_TOKEN (bearer or basic-auth password) when set. Optional `?environment=`, "
    "`?squad=` and `?severity=` are the defaults for alerts whose payload does not say (docs/monitoring.md)."
)


def _token_only(request: Request, _body: bytes, settings: Settings) -> None:
    require_alert_token(request, settings)


def defaults_from(query: Mapping[str, str], settings: Settings, severity: Severity) -> AlertDefaults:
    """Defaults for what a payload leaves out: the URL's query first, then settings."""
    wanted = query.get("severity")
    chosen = vocab.severity(wanted) if wanted else severity
    if chosen is None:
        raise InvalidPayload(f"query parameter 'severity' is not a severity this service knows: {str(wanted)[:40]!r}")
    return AlertDefaults(
        environment=vocab.environment(query.get("environment"))
        or vocab.environment(settings.alert_default_environment)
        or "production",
        severity=chosen,
        squad=clean(query.get("squad"), 200),
    )


async def _apply_batch(conn: AsyncConnection, batch: AlertBatch, now: datetime) -> int:
    return await apply_alert_batch(conn, batch, now=now)


Parse = Callable[[Any, AlertDefaults, datetime], AlertBatch | Ignored]


def _grafana(body: Any, defaults: AlertDefaults, now: datetime) -> AlertBatch | Ignored:
    if not isinstance(body, dict):
        raise InvalidPayload("a Grafana webhook body must be a JSON object")
    if grafana_unified.is_unified(body):
        return grafana_unified.parse_delivery(body, defaults, received_at=now)
    if grafana_legacy.is_legacy(body):
        return grafana_legacy.parse_delivery(body, defaults, received_at=now)
    raise InvalidPayload("not a Grafana alert webhook: neither 'alerts' (unified) nor 'evalMatches'/'ruleId' (legacy)")


# Each alert sender's adapter, and the severity of alerts that name none.
_ALERT_FORMATS: dict[str, tuple[Parse, Severity]] = {
    "alertmanager": (
        lambda body, defaults, now: alertmanager.parse_delivery(body, defaults, received_at=now),
        "medium",
    ),
    "grafana": (_grafana, "medium"),
    "generic": (lambda body, defaults, now: generic_alert.parse_delivery(body, defaults, received_at=now), "medium"),
    "uptime-kuma": (lambda body, defaults, now: uptime_kuma.parse_delivery(body, defaults, received_at=now), "high"),
}
ALERT_SENDER_NAMES = tuple(_ALERT_FORMATS)
# Senders that post a whole alert group in one body (docs/monitoring.md recommends max_alerts: 0).
_GROUP_SENDERS = frozenset({"alertmanager", "grafana"})


def alert_sender(name: str, query: Mapping[str, str]) -> Sender[AlertBatch]:
    """The sender `name` (a key of `_ALERT_FORMATS`) for a delivery posted with `query`."""
    parse, severity = _ALERT_FORMATS[name]

    def translate(body: Any, now: datetime, settings: Settings) -> AlertBatch | Ignored:
        return parse(body, defaults_from(query, settings, severity), now)

    authenticate = authenticate_grafana if name == "grafana" else _token_only
    return Sender(
        name=name,
        authenticate=authenticate,
        translate=translate,
        apply=_apply_batch,
        # A group sender's deliveries arriving together commit together (a connection of their own,
        # opened on the first); the others' few alerts go through the pool, set-based all the same.
        set_writer=ALERT_WRITER if name in _GROUP_SENDERS else None,
        body_limit="max_alert_body_bytes" if name in _GROUP_SENDERS else "max_webhook_body_bytes",
    )


@router.post(
    "/api/webhooks/alertmanager",
    summary="Receive a Prometheus Alertmanager webhook",
    description="Alertmanager's webhook (version 4): each alert of the group is tracked by its fingerprint." + _AUTH,
    responses=_RESPONSES,
    openapi_extra=webhook_docs.request_body("alertmanager"),
)
async def receive_alertmanager(request: Request) -> JSONResponse:
    return await receive(request, alert_sender("alertmanager", request.query_params))


@router.post(
    "/api/webhooks/grafana",
    summary="Receive a Grafana alerting webhook (unified or legacy)",
    description="Grafana's unified alerting or a legacy dashboard alert; with GRAFANA_WEBHOOK_SECRET set, signed "
    "deliveries must verify." + _AUTH,
    responses=_RESPONSES,
    openapi_extra=webhook_docs.request_body("grafana"),
)
async def receive_grafana(request: Request) -> JSONResponse:
    return await receive(request, alert_sender("grafana", request.query_params))


@router.post(
    "/api/webhooks/alerts",
    summary="Receive alerts in the contract's shape (one or a list)",
    description="The contract's alert shape, for senders that can template their body (scripts, Zabbix, "
    "Datadog...); `id` or `fingerprint` names the alert." + _AUTH,
    responses=_RESPONSES,
    openapi_extra=webhook_docs.request_body("alerts"),
)
async def receive_generic(request: Request) -> JSONResponse:
    return await receive(request, alert_sender("generic", request.query_params))


@router.post(
    "/api/webhooks/uptime-kuma",
    summary="Receive an Uptime Kuma webhook notification",
    description="A monitor going down or up; the test notification is acknowledged and ignored." + _AUTH,
    responses=_RESPONSES,
    openapi_extra=webhook_docs.request_body("uptime-kuma"),
)
async def receive_uptime_kuma(request: Request) -> JSONResponse:
    return await receive(request, alert_sender("uptime-kuma", request.query_params))


SnsChange = AlertBatch | cloudwatch_sns.SnsSubscription


def is_subscription(change: object) -> bool:
    """A subscription to confirm: an outbound call, not a change of state."""
    return isinstance(change, cloudwatch_sns.SnsSubscription)


def sns_sender(query: Mapping[str, str]) -> Sender[SnsChange]:
    """CloudWatch through SNS, for a delivery posted with `query`. A subscription is an
    outbound call, not a change of state: the webhook path stores the delivery, then
    queues the confirmation (see `is_subscription`)."""

    def translate(body: Any, now: datetime, settings: Settings) -> SnsChange | Ignored:
        rules = cloudwatch_sns.SnsRules(
            topic_arns=frozenset(settings.sns_topic_arns), subscribe_url=re.compile(settings.sns_subscribe_url_pattern)
        )
        return cloudwatch_sns.parse_delivery(body, defaults_from(query, settings, "high"), rules, received_at=now)

    async def apply(conn: AsyncConnection, change: SnsChange, now: datetime) -> int:
        if isinstance(change, cloudwatch_sns.SnsSubscription):
            return 0  # confirmed by `outbound`, after the commit; never replayed
        return await _apply_batch(conn, change, now)

    def outbound(change: SnsChange) -> OutboundCall | None:
        return confirmation(change) if isinstance(change, cloudwatch_sns.SnsSubscription) else None

    return Sender(
        name="cloudwatch",
        authenticate=_token_only,
        translate=translate,
        apply=apply,
        delivery_key=lambda req: req.headers.get("x-amz-sns-message-id"),
        outbound=outbound,
    )


@router.post(
    "/api/webhooks/cloudwatch",
    summary="Receive CloudWatch alarms through an SNS HTTP/S subscription",
    description="SNS deliveries: a subscription confirmation (stored and answered 202 `accepted`, then confirmed "
    "by visiting SubscribeURL, when it matches SNS_SUBSCRIBE_URL_PATTERN and the topic is in SNS_TOPIC_ARNS) or an "
    "alarm notification. Without credentials, 401 comes with a Basic challenge, after which SNS sends the endpoint "
    "URL's." + _AUTH,
    responses=webhook_docs.responses(
        _STORED, _IGNORED + "; or `accepted`: a subscription confirmation stored, to be confirmed from the queue"
    ),
    openapi_extra=webhook_docs.request_body("cloudwatch"),
)
async def receive_cloudwatch(request: Request) -> JSONResponse:
    try:
        return await receive(request, sns_sender(request.query_params))
    except Unauthenticated as exc:
        # SNS sends the credentials of a `https://user:pass@host/` endpoint only
        # after a Basic challenge.
        return JSONResponse(
            error_body(exc.code, exc.message),
            status_code=401,
            headers={"WWW-Authenticate": 'Basic realm="ops-bridge"'},
        )
