"""Prometheus Alertmanager's webhook (version 4) to an `AlertBatch`.

A delivery is one notification of a group: several alerts, each with its own
status (a group marked firing may hold resolved alerts: the alert's status
wins), and `truncatedAlerts` counting the alerts left out when the receiver's
`max_alerts` cut the list. A test notification (Grafana-based Alertmanagers
can send one; Prometheus's own cannot) is acknowledged and stored as nothing.
Pure: parsed JSON in, no web, no database.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from app.adapters import alert_fields
from app.adapters.labelled_alert import is_test_alert, signal_from_alert
from app.domain.alerts import AlertBatch, AlertDefaults
from app.domain.deliveries import Ignored
from app.errors import InvalidPayload

SOURCE = "alertmanager"


def parse_delivery(body: Any, defaults: AlertDefaults, *, received_at: datetime) -> AlertBatch | Ignored:
    if not isinstance(body, dict):
        raise InvalidPayload("an Alertmanager webhook body must be a JSON object")
    if "alerts" not in body:
        raise InvalidPayload("not an Alertmanager webhook: no 'alerts'")
    alerts = alert_fields.items(body["alerts"], "alerts")
    if alerts and all(map(is_test_alert, alerts)):
        return Ignored("alertmanager test notification")
    group_status = alert_fields.text(body.get("status"), "status")
    signals = tuple(
        signal_from_alert(
            alert, f"alerts[{index}]", source=SOURCE, group_status=group_status, defaults=defaults, now=received_at
        )
        for index, alert in enumerate(alerts)
        if not is_test_alert(alert)
    )
    return AlertBatch(signals=signals, truncated=truncated_count(body.get("truncatedAlerts")))


def truncated_count(value: Any) -> int:
    if value is None:
        return 0
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise InvalidPayload("'truncatedAlerts' must be a non-negative integer")
    return value
