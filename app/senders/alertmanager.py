"""Prometheus Alertmanager (webhook version 4): a whole alert group per delivery,
each alert tracked by its fingerprint."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from app.adapters import alertmanager
from app.domain.alerts import AlertBatch, AlertDefaults
from app.domain.deliveries import Ignored
from app.senders.alerts import alert_sender, registered
from app.senders.sender import Sender


def _parse(body: Any, defaults: AlertDefaults, now: datetime) -> AlertBatch | Ignored:
    return alertmanager.parse_delivery(body, defaults, received_at=now)


def sender(query: Mapping[str, str]) -> Sender[AlertBatch]:
    return alert_sender("alertmanager", _parse, "medium", query, group=True)


REGISTERED = registered("alertmanager", sender)
