"""One alert of the Alertmanager data model (labels, annotations, startsAt,
endsAt, fingerprint) to an `AlertSignal`: shared by Alertmanager's webhook and
Grafana's unified alerting webhook, which sends the same alert objects.

Where each contract field comes from is the mapping table in docs/monitoring.md;
keep the two in step.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from app.adapters import alert_fields
from app.domain.alerts import AlertDefaults, AlertSignal, SignalStatus, label_fingerprint
from app.errors import InvalidPayload
from app.normalize import alerts as vocab

METRIC_KEYS = ("metric", "metric_name", "__name__", "alertname")
VALUE_KEYS = ("value", "current_value", "observed_value")
THRESHOLD_KEYS = ("threshold",)
OPERATOR_KEYS = ("operator", "comparison")
ENVIRONMENT_KEYS = ("environment", "env", "deployment_environment")
SEVERITY_KEYS = ("severity", "priority", "level")
SQUAD_KEYS = ("squad", "team")
# The most specific thing the alert is about comes first.
RESOURCE_KEYS = (
    "resource_id",
    "resource",
    "pod",
    "instance",
    "host",
    "hostname",
    "node",
    "container",
    "service",
    "job",
)
SUMMARY_KEYS = ("summary", "message")
STATUSES: frozenset[str] = frozenset({"firing", "resolved"})
# Grafana's "Test" of a contact point, and Alertmanagers built on Grafana's
# alerting (Mimir), send one made-up alert labelled so (pkg/services/ngalert/
# notifier: newTestAlert); the user may add labels and annotations, not remove these.
_TEST_ALERTNAME = "TestAlert"
_TEST_INSTANCES = frozenset({"Grafana", "Alertmanager"})


def is_test_alert(alert: Any) -> bool:
    """The sender's own test notification, not an alert of any rule."""
    labels = alert.get("labels") if isinstance(alert, dict) else None
    return (
        isinstance(labels, dict)
        and labels.get("alertname") == _TEST_ALERTNAME
        and labels.get("instance") in _TEST_INSTANCES
    )


def signal_from_alert(
    alert: Any,
    where: str,
    *,
    source: str,
    group_status: str | None,
    defaults: AlertDefaults,
    now: datetime,
    value_hint: float | None = None,
) -> AlertSignal:
    item = alert_fields.obj(alert, where)
    labels = alert_fields.string_map(item.get("labels"), f"{where}.labels")
    if not labels:
        raise InvalidPayload(f"'{where}.labels' is missing or empty: an alert is known by its labels")
    annotations = alert_fields.string_map(
        item.get("annotations"), f"{where}.annotations", alert_fields.DESCRIPTION_BYTES
    )
    status = _status(alert_fields.text(item.get("status"), f"{where}.status") or group_status, where)
    starts_at = alert_fields.timestamp(item.get("startsAt"), f"{where}.startsAt") or now
    ends_at = alert_fields.timestamp(item.get("endsAt"), f"{where}.endsAt") if status == "resolved" else None
    fingerprint = alert_fields.name(
        alert_fields.text(item.get("fingerprint"), f"{where}.fingerprint")
    ) or label_fingerprint(labels)
    resource = _resource(labels)
    return AlertSignal(
        source=source,
        fingerprint=fingerprint,
        status=status,
        metric=alert_fields.name(alert_fields.first_value((labels, annotations), METRIC_KEYS)) or "alert",
        value=_number((annotations, labels), VALUE_KEYS, value_hint),
        threshold=_number((annotations, labels), THRESHOLD_KEYS, None),
        operator=vocab.operator(alert_fields.first_value((labels, annotations), OPERATOR_KEYS)) or "greater_than",
        environment=vocab.environment(alert_fields.first_value((labels,), ENVIRONMENT_KEYS)) or defaults.environment,
        severity=alert_fields.severity_or(alert_fields.first_value((labels,), SEVERITY_KEYS), defaults.severity),
        starts_at=starts_at,
        ends_at=max(ends_at, starts_at) if ends_at else None,
        squad=alert_fields.name(alert_fields.first_value((labels,), SQUAD_KEYS)) or defaults.squad,
        resource_id=resource[1] if resource else None,
        resource_type=labels.get("resource_type") or (resource[0] if resource else None),
        summary=alert_fields.name(alert_fields.first_value((annotations,), SUMMARY_KEYS), alert_fields.SUMMARY_BYTES),
        description=annotations.get("description"),
        labels=labels,
        annotations=annotations,
    )


def _status(value: str | None, where: str) -> SignalStatus:
    if value is None:
        raise InvalidPayload(f"'{where}.status' is missing (and so is the group's)")
    lowered = value.strip().lower()
    if lowered == "firing":
        return "firing"
    if lowered == "resolved":
        return "resolved"
    raise InvalidPayload(f"'{where}.status' must be 'firing' or 'resolved', not {value[:40]!r}")


def _number(mappings: tuple[Mapping[str, str], ...], keys: tuple[str, ...], hint: float | None) -> float:
    found = vocab.number(alert_fields.first_value(mappings, keys))
    if found is not None:
        return found
    return hint if hint is not None else 0.0


def _resource(labels: Mapping[str, str]) -> tuple[str | None, str] | None:
    found = alert_fields.first((labels,), RESOURCE_KEYS)
    if found is None:
        return None
    kind, value = found
    return (None if kind in {"resource_id", "resource"} else kind), value
