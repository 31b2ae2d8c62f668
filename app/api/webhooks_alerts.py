"""The monitoring senders' routes: Alertmanager, Grafana (unified and legacy), the
generic alert shape, Uptime Kuma, and CloudWatch through SNS. Each posts to the
common webhook path (app/api/webhook_path.py) with its sender (app/senders/).

Every route takes optional `?environment=`, `?squad=` and `?severity=` query
parameters: the defaults for alerts whose payload does not say (docs/monitoring.md).
"""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse

from app.api import webhook_docs
from app.api.webhook_path import receive
from app.errors import Unauthenticated, error_body
from app.senders import alertmanager, cloudwatch, generic, grafana, uptime_kuma

router = APIRouter(tags=["webhooks"])

_STORED = "Stored (`events` counts the messages it produced) or unchanged"
_IGNORED = "Well formed, nothing to track (a test notification, a pending state...): ignored"
_RESPONSES = webhook_docs.responses(_STORED, _IGNORED)
_AUTH = (
    " Authenticated by ALERT_WEBHOOK_TOKEN (bearer or basic-auth password) when set. Optional `?environment=`, "
    "`?squad=` and `?severity=` are the defaults for alerts whose payload does not say (docs/monitoring.md)."
)


@router.post(
    "/api/webhooks/alertmanager",
    summary="Receive a Prometheus Alertmanager webhook",
    description="Alertmanager's webhook (version 4): each alert of the group is tracked by its fingerprint." + _AUTH,
    responses=_RESPONSES,
    openapi_extra=webhook_docs.request_body("alertmanager"),
)
async def receive_alertmanager(request: Request) -> JSONResponse:
    return await receive(request, alertmanager.sender(request.query_params))


@router.post(
    "/api/webhooks/grafana",
    summary="Receive a Grafana alerting webhook (unified or legacy)",
    description="Grafana's unified alerting or a legacy dashboard alert; with GRAFANA_WEBHOOK_SECRET set, signed "
    "deliveries must verify." + _AUTH,
    responses=_RESPONSES,
    openapi_extra=webhook_docs.request_body("grafana"),
)
async def receive_grafana(request: Request) -> JSONResponse:
    return await receive(request, grafana.sender(request.query_params))


@router.post(
    "/api/webhooks/alerts",
    summary="Receive alerts in the contract's shape (one or a list)",
    description="The contract's alert shape, for senders that can template their body (scripts, Zabbix, "
    "Datadog...); `id` or `fingerprint` names the alert." + _AUTH,
    responses=_RESPONSES,
    openapi_extra=webhook_docs.request_body("alerts"),
)
async def receive_generic(request: Request) -> JSONResponse:
    return await receive(request, generic.sender(request.query_params))


@router.post(
    "/api/webhooks/uptime-kuma",
    summary="Receive an Uptime Kuma webhook notification",
    description="A monitor going down or up; the test notification is acknowledged and ignored." + _AUTH,
    responses=_RESPONSES,
    openapi_extra=webhook_docs.request_body("uptime-kuma"),
)
async def receive_uptime_kuma(request: Request) -> JSONResponse:
    return await receive(request, uptime_kuma.sender(request.query_params))


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
        return await receive(request, cloudwatch.sender(request.query_params))
    except Unauthenticated as exc:
        # SNS sends the credentials of a `https://user:pass@host/` endpoint only
        # after a Basic challenge.
        return JSONResponse(
            error_body(exc.code, exc.message),
            status_code=401,
            headers={"WWW-Authenticate": 'Basic realm="ops-bridge"'},
        )
