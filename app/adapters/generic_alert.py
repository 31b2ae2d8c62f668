"""The contract's own alert shape (one object or a list) to an `AlertBatch`.

For senders that can template their body (scripts, Zabbix media types,
Datadog webhooks...). Fields the contract requires are required here, except
`operator` (default `greater_than`), `environment` (the default environment)
and `triggered_at` (the time of receipt). `id` or `fingerprint` names the
alert; without either, its identity is derived from metric, environment,
resource and labels.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any, TypeVar

from app.adapters import alert_fields
from app.domain.alerts import AlertBatch, AlertDefaults, AlertSignal, SignalStatus, label_fingerprint
from app.errors import InvalidPayload
from app.normalize import alerts as vocab

SOURCE = "generic"
MAX_ALERTS = 500

T = TypeVar("T")


def parse_delivery(body: Any, defaults: AlertDefaults, *, received_at: datetime) -> AlertBatch:
    if isinstance(body, dict):
        entries = [body]
    elif isinstance(body, list):
        entries = body
    else:
        raise InvalidPayload("an alert body must be a JSON object or a list of them")
    if not entries:
        raise InvalidPayload("the list of alerts is empty")
    if len(entries) > MAX_ALERTS:
        raise InvalidPayload(f"at most {MAX_ALERTS} alerts per request")
    where = "" if isinstance(body, dict) else "[{}]"
    signals = tuple(_signal(entry, where.format(i), defaults, received_at) for i, entry in enumerate(entries))
    return AlertBatch(signals=signals)


def _signal(entry: Any, prefix: str, defaults: AlertDefaults, now: datetime) -> AlertSignal:
    def at(name: str) -> str:
        return f"{prefix}.{name}" if prefix else name

    item = alert_fields.obj(entry, prefix or "body")
    metric = alert_fields.name(alert_fields.text(item.get("metric"), at("metric"), required=True))
    if metric is None:
        raise InvalidPayload(f"'{at('metric')}' is empty once markup is removed")
    environment = (
        vocab.environment(alert_fields.text(item.get("environment"), at("environment"))) or defaults.environment
    )
    labels = alert_fields.string_map(item.get("labels"), at("labels"))
    resource_id = alert_fields.name(alert_fields.text(item.get("resource_id"), at("resource_id")))
    explicit = alert_fields.name(alert_fields.text(item.get("id"), at("id")))
    fingerprint = explicit or alert_fields.name(alert_fields.text(item.get("fingerprint"), at("fingerprint")))
    status = _status(item.get("status"), at("status"))
    triggered = alert_fields.timestamp(item.get("triggered_at"), at("triggered_at")) or now
    return AlertSignal(
        source=SOURCE,
        fingerprint=fingerprint
        or label_fingerprint({**labels, "__metric__": metric, "__env__": environment, "__res__": resource_id or ""}),
        explicit_id=explicit,
        status=status,
        metric=metric,
        value=_required_number(item.get("value"), at("value")),
        threshold=_required_number(item.get("threshold"), at("threshold")),
        operator=_choice(item.get("operator"), at("operator"), vocab.operator, "greater_than"),
        environment=environment,
        severity=_choice(item.get("severity"), at("severity"), vocab.severity, None),
        starts_at=triggered,
        ends_at=alert_fields.timestamp(item.get("resolved_at"), at("resolved_at")) if status == "resolved" else None,
        squad=alert_fields.name(alert_fields.text(item.get("squad"), at("squad"))) or defaults.squad,
        resource_id=resource_id,
        resource_type=alert_fields.name(alert_fields.text(item.get("resource_type"), at("resource_type"))),
        summary=alert_fields.name(alert_fields.text(item.get("summary"), at("summary")), alert_fields.SUMMARY_BYTES),
        description=alert_fields.name(
            alert_fields.text(item.get("description"), at("description")), alert_fields.DESCRIPTION_BYTES
        ),
        labels=labels,
    )


def _required_number(value: Any, where: str) -> float:
    if value is None:
        raise InvalidPayload(f"'{where}' is missing")
    if isinstance(value, str):
        try:
            value = float(value)
        except ValueError:
            raise InvalidPayload(f"'{where}' must be a finite number") from None
    number = vocab.number(value)
    if number is None:
        raise InvalidPayload(f"'{where}' must be a finite number")
    return number


def _choice(value: Any, where: str, normalize: Callable[[str | None], T | None], default: T | None) -> T:
    if value is None or value == "":
        if default is None:
            raise InvalidPayload(f"'{where}' is missing")
        return default
    chosen = normalize(alert_fields.text(value, where))
    if chosen is None:
        raise InvalidPayload(f"'{where}' is not one this service knows: {str(value)[:40]!r}")
    return chosen


def _status(value: Any, where: str) -> SignalStatus:
    lowered = (alert_fields.text(value, where) or "firing").strip().lower()
    if lowered in {"firing", "triggered", "alerting", "problem", "open"}:
        return "firing"
    if lowered in {"resolved", "ok", "recovered", "closed"}:
        return "resolved"
    raise InvalidPayload(f"'{where}' must be 'firing' or 'resolved', not {lowered[:40]!r}")
