"""POST /api/metrics (samples in) and GET /api/metrics/sla (the SLA figures).

Who may post metrics: a token holder with the `publisher` (or `admin`) role,
within the environments its token grants, or a machine presenting
ALERT_WEBHOOK_TOKEN (bearer or basic-auth password), as monitoring senders do.
With ALERT_WEBHOOK_TOKEN unset in development, a request without credentials is
accepted, as webhooks are (the configuration warns at start-up).
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Request
from pydantic import BaseModel, ConfigDict, Field, TypeAdapter, ValidationError

from app.adapters.json_body import parse_json
from app.api.auth import Authenticated, principal_of
from app.api.body import read_limited
from app.api.responses import READ, WRITE, errors
from app.auth.credentials import session_cookie_name
from app.auth.principal import Principal
from app.auth.webhook_signatures import bearer_or_basic_password, same_secret
from app.clock import utcnow
from app.contract.payloads import MetricData, Severity
from app.domain.metric_samples import MAX_SAMPLES, MetricInput, sample_of
from app.domain.sla import parse_targets
from app.errors import Forbidden, InvalidPayload, Unauthenticated
from app.ingest import metric_samples
from app.runtime import runtime_of
from app.store.sla import sla_report

router = APIRouter(tags=["metrics"])

_ONE: TypeAdapter[MetricInput] = TypeAdapter(MetricInput)
_MANY: TypeAdapter[list[MetricInput]] = TypeAdapter(
    Annotated[list[MetricInput], Field(min_length=1, max_length=MAX_SAMPLES)]
)


class _Machine:
    """The caller presented ALERT_WEBHOOK_TOKEN (or none was needed in development)."""


MetricSender = Principal | _Machine


def metric_sender(request: Request) -> MetricSender:
    settings = runtime_of(request).settings
    token = settings.alert_webhook_token
    presented = bearer_or_basic_password(request)
    if token is not None and same_secret(token.get_secret_value(), presented):
        return _Machine()
    has_credentials = "authorization" in request.headers or session_cookie_name(request, settings) in request.cookies
    if token is None and not has_credentials and not settings.production:
        return _Machine()
    if not has_credentials:
        raise Unauthenticated("a publisher token or ALERT_WEBHOOK_TOKEN is needed to post metrics")
    principal = principal_of(request)
    if not principal.can_publish:
        raise Forbidden("posting metrics needs the role publisher or admin")
    return principal


class MetricsStored(BaseModel):
    model_config = ConfigDict(json_schema_extra={"examples": [{"status": "stored", "samples": 2, "published": 2}]})

    status: Literal["stored"]
    samples: int = Field(description="How many samples were stored.")
    published: int = Field(
        description="How many `metric` messages went out now; a series published less than a second ago "
        "sends its newest value when the second is up."
    )


_SAMPLE_EXAMPLES = {
    "one": {
        "summary": "One sample",
        "value": {"metric_name": "sla_percentage", "value": 99.5, "unit": "percent", "environment": "production",
                  "timestamp": "2025-01-17T15:00:00Z"},
    },
    "many": {
        "summary": "A list (up to 1000); without `timestamp`, the time of receipt",
        "value": [{"metric_name": "queue_depth", "value": 42, "environment": "staging"},
                  {"metric_name": "error_rate", "value": 0.7, "unit": "percent", "environment": "prod",
                   "metadata": {"service": "checkout"}}],
    },
}  # fmt: skip
_SAMPLE = MetricInput.model_json_schema()
_BODY: dict[str, Any] = {
    "requestBody": {
        "required": True,
        "content": {
            "application/json": {
                "schema": {"anyOf": [_SAMPLE, {"type": "array", "items": _SAMPLE, "minItems": 1,
                                               "maxItems": MAX_SAMPLES}]},
                "examples": _SAMPLE_EXAMPLES,
            }
        },
    },
    "security": [{"HTTPBearer": []}],
}  # fmt: skip


@router.post(
    "/api/metrics",
    summary="Post metric samples (one or a list)",
    response_model=MetricsStored,
    # Read raw, as webhooks are: any Content-Type is taken, so no 415.
    responses=errors(
        *(status for status in WRITE if status != 415),
        e401="no valid publisher token or ALERT_WEBHOOK_TOKEN",
        e403="not a publisher, or an environment the token does not grant",
        e413="the body is larger than MAX_WEBHOOK_BODY_BYTES",
    ),
    openapi_extra=_BODY,
)
async def post_metrics(request: Request, sender: Annotated[MetricSender, Depends(metric_sender)]) -> dict[str, Any]:
    """Samples in the contract's metric shape, from a publisher token (within its environments) or a machine
    presenting ALERT_WEBHOOK_TOKEN. Each series (metric and environment) goes out at most once a second, the
    latest value winning; `environment` is normalized as an alert's (`prod` -> `production`)."""
    runtime = runtime_of(request)
    body = parse_json(await read_limited(request, runtime.settings.max_webhook_body_bytes))
    now = utcnow()
    samples = _samples(body, now)
    if isinstance(sender, Principal) and not _may_publish(sender, samples):
        raise Forbidden("the token does not grant every environment these samples name")
    published = await metric_samples.record(runtime.engine, samples)
    return {"status": "stored", "samples": len(samples), "published": published}


def _may_publish(principal: Principal, samples: list[MetricData]) -> bool:
    """Within the environments granted; a sample without one is seen by all, so needs them all."""
    named = [sample.environment for sample in samples if sample.environment is not None]
    unnamed = len(named) < len(samples)
    if unnamed and not (principal.is_admin or principal.environments is None):
        return False
    return principal.allows_environments(named)


def _samples(body: Any, now: datetime) -> list[MetricData]:
    try:
        parsed = _MANY.validate_python(body) if isinstance(body, list) else _ONE.validate_python(body)
    except ValidationError as exc:
        details = [{"field": ".".join(str(p) for p in e["loc"]), "problem": e["msg"]} for e in exc.errors()]
        raise InvalidPayload("the body is not a metric sample or a list of them", details=details[:20]) from None
    given = parsed if isinstance(parsed, list) else [parsed]
    try:
        return [sample_of(item, now) for item in given]
    except ValueError as exc:
        raise InvalidPayload(str(exc)) from None


class SlaIncidents(BaseModel):
    total: int
    resolved: int
    met: int = Field(description="Resolved within the target of their severity.")
    breached: int = Field(description="Resolved late, or still open past the target.")
    open_within_target: int


class SlaFigures(BaseModel):
    target_seconds: float | None = Field(description="The resolution target of this severity (SLA_TARGETS).")
    sla_percentage: float
    mean_time_to_resolve_seconds: float | None = Field(description="Null while none is resolved.")
    incidents: SlaIncidents


class SlaReport(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "generated_at": "2025-01-17T15:00:00.000Z", "window_seconds": 2592000.0, "sla_percentage": 97.5,
                    "mean_time_to_resolve_seconds": 9180.0,
                    "incidents": {"total": 40, "resolved": 36, "met": 39, "breached": 1, "open_within_target": 3},
                    "by_severity": {
                        "critical": {"target_seconds": 14400.0, "sla_percentage": 90.0,
                                     "mean_time_to_resolve_seconds": 7200.0,
                                     "incidents": {"total": 10, "resolved": 10, "met": 9, "breached": 1,
                                                   "open_within_target": 0}},
                    },
                }
            ]
        }
    )  # fmt: skip

    generated_at: str
    window_seconds: float = Field(description="The rolling window (SLA_WINDOW_DAYS), by incident creation time.")
    sla_percentage: float
    mean_time_to_resolve_seconds: float | None
    incidents: SlaIncidents
    by_severity: dict[Severity, SlaFigures]


@router.get(
    "/api/metrics/sla",
    summary="Current SLA figures, computed from the incidents stored",
    response_model=SlaReport,
    responses=errors(*READ),
)
async def get_sla(request: Request, principal: Authenticated) -> dict[str, Any]:
    """Overall and by severity, over the rolling window: the incidents your token's squads may see."""
    runtime = runtime_of(request)
    settings = runtime.settings
    async with runtime.engine.connect() as conn:
        return await sla_report(
            conn,
            targets=parse_targets(settings.sla_targets),
            window=timedelta(days=settings.sla_window_days),
            now=utcnow(),
            squads=None if principal.is_admin else principal.squads,
        )
