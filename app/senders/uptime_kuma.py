"""Uptime Kuma: a monitor going down or up (alerts default to high severity)."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from app.adapters import uptime_kuma
from app.domain.alerts import AlertBatch, AlertDefaults
from app.domain.deliveries import Ignored
from app.senders.alerts import alert_sender, registered
from app.senders.sender import Sender


def _parse(body: Any, defaults: AlertDefaults, now: datetime) -> AlertBatch | Ignored:
    return uptime_kuma.parse_delivery(body, defaults, received_at=now)


def sender(query: Mapping[str, str]) -> Sender[AlertBatch]:
    return alert_sender("uptime-kuma", _parse, "high", query)


REGISTERED = registered("uptime-kuma", sender)
