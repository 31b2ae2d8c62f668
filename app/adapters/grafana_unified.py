"""Grafana unified alerting's webhook contact point to an `AlertBatch`.

The body extends Alertmanager's (same alerts, groups and `truncatedAlerts`)
with `orgId`, `state`, `title`, `message` and, per alert, `values`: the
results of the rule's expressions by reference id (`{"A": 0.12, "B": 0.12,
"C": 1}`). The last expression is the condition (0 or 1); the one before it is
the value the condition judged, which becomes the alert's value unless a
`value` annotation or label says otherwise. The contact point's "Test" sends a
made-up alert (`labelled_alert.is_test_alert`): acknowledged, stored as nothing.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from app.adapters import alert_fields
from app.adapters.alertmanager import truncated_count
from app.adapters.labelled_alert import is_test_alert, signal_from_alert
from app.domain.alerts import AlertBatch, AlertDefaults
from app.domain.deliveries import Ignored
from app.normalize import alerts as vocab

SOURCE = "grafana"


def is_unified(body: dict[str, Any]) -> bool:
    return "alerts" in body


def parse_delivery(body: dict[str, Any], defaults: AlertDefaults, *, received_at: datetime) -> AlertBatch | Ignored:
    alerts = alert_fields.items(body["alerts"], "alerts")
    if alerts and all(map(is_test_alert, alerts)):
        return Ignored("grafana test notification")
    group_status = alert_fields.text(body.get("status"), "status")
    signals = []
    for index, alert in enumerate(alerts):
        if is_test_alert(alert):
            continue
        where = f"alerts[{index}]"
        hint = judged_value(alert.get("values") if isinstance(alert, dict) else None, f"{where}.values")
        signals.append(
            signal_from_alert(
                alert,
                where,
                source=SOURCE,
                group_status=group_status,
                defaults=defaults,
                now=received_at,
                value_hint=hint,
            )
        )
    return AlertBatch(signals=tuple(signals), truncated=truncated_count(body.get("truncatedAlerts")))


def judged_value(values: Any, where: str) -> float | None:
    if values is None:
        return None
    results = alert_fields.obj(values, where)
    numbers = [(ref, vocab.number(value)) for ref, value in sorted(results.items())]
    present = [number for _, number in numbers if number is not None]
    if not present:
        return None
    return present[-2] if len(present) >= 2 else present[0]
