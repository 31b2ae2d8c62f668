"""Grafana: unified alerting (a group per delivery, signed when
GRAFANA_WEBHOOK_SECRET is set) and legacy dashboard alerts."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from app.adapters import grafana_legacy, grafana_unified
from app.auth.alert_senders import authenticate_grafana
from app.domain.alerts import AlertBatch, AlertDefaults
from app.domain.deliveries import Ignored
from app.errors import InvalidPayload
from app.senders.alerts import alert_sender, registered
from app.senders.sender import Sender


def _parse(body: Any, defaults: AlertDefaults, now: datetime) -> AlertBatch | Ignored:
    if not isinstance(body, dict):
        raise InvalidPayload("a Grafana webhook body must be a JSON object")
    if grafana_unified.is_unified(body):
        return grafana_unified.parse_delivery(body, defaults, received_at=now)
    if grafana_legacy.is_legacy(body):
        return grafana_legacy.parse_delivery(body, defaults, received_at=now)
    raise InvalidPayload("not a Grafana alert webhook: neither 'alerts' (unified) nor 'evalMatches'/'ruleId' (legacy)")


def sender(query: Mapping[str, str]) -> Sender[AlertBatch]:
    return alert_sender("grafana", _parse, "medium", query, group=True, authenticate=authenticate_grafana)


REGISTERED = registered("grafana", sender)
