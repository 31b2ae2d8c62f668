"""Alerts in the contract's own shape (one or a list), for senders that can
template their body: scripts, Zabbix, Datadog... Stored as `generic`, posted to
/api/webhooks/alerts."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from app.adapters import generic_alert
from app.domain.alerts import AlertBatch, AlertDefaults
from app.domain.deliveries import Ignored
from app.senders.alerts import alert_sender, registered
from app.senders.sender import Sender


def _parse(body: Any, defaults: AlertDefaults, now: datetime) -> AlertBatch | Ignored:
    return generic_alert.parse_delivery(body, defaults, received_at=now)


def sender(query: Mapping[str, str]) -> Sender[AlertBatch]:
    return alert_sender("generic", _parse, "medium", query)


REGISTERED = registered("generic", sender, endpoint="alerts")
