"""Uptime Kuma's webhook notification (JSON body) to an `AlertBatch`.

Uptime Kuma posts `{"heartbeat": {...}, "monitor": {...}, "msg": "..."}` when
a monitor changes state. `heartbeat.status` is 0 (down), 1 (up), 2 (pending)
or 3 (maintenance): down fires, up resolves, the others are acknowledged and
ignored, and so are the test notification and certificate-expiry notices,
which carry no heartbeat. The alert is the monitor: `monitor_up` with value 0
(down) or 1 (up), below the threshold 1. Monitor tags `environment`/`env`,
`squad`/`team` and `severity` fill in what the monitor does not say.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from app.adapters import alert_fields
from app.domain.alerts import AlertBatch, AlertDefaults, AlertSignal
from app.domain.deliveries import Ignored
from app.errors import InvalidPayload
from app.normalize import alerts as vocab

SOURCE = "uptime-kuma"
_DOWN, _UP, _PENDING, _MAINTENANCE = 0, 1, 2, 3


def parse_delivery(body: Any, defaults: AlertDefaults, *, received_at: datetime) -> AlertBatch | Ignored:
    if not isinstance(body, dict):
        raise InvalidPayload("an Uptime Kuma webhook body must be a JSON object")
    if "heartbeat" not in body and "monitor" not in body and "msg" not in body:
        raise InvalidPayload("not an Uptime Kuma notification: no 'heartbeat', 'monitor' or 'msg'")
    heartbeat = alert_fields.optional_obj(body.get("heartbeat"), "heartbeat")
    monitor = alert_fields.optional_obj(body.get("monitor"), "monitor") or {}
    if heartbeat is None:
        return Ignored("uptime kuma notification without a heartbeat (test or certificate notice)")
    status = heartbeat.get("status")
    if status not in (_DOWN, _UP, _PENDING, _MAINTENANCE) or isinstance(status, bool):
        raise InvalidPayload("'heartbeat.status' must be 0 (down), 1 (up), 2 (pending) or 3 (maintenance)")
    if status in (_PENDING, _MAINTENANCE):
        return Ignored("uptime kuma pending or maintenance heartbeat")
    monitor_id = alert_fields.text(monitor.get("id"), "monitor.id") or alert_fields.text(
        heartbeat.get("monitorID"), "heartbeat.monitorID"
    )
    if monitor_id is None:
        raise InvalidPayload("'monitor.id' and 'heartbeat.monitorID' are both missing: which monitor is it?")
    tags = _tags(monitor.get("tags"))
    at = alert_fields.timestamp(heartbeat.get("time"), "heartbeat.time") or received_at
    down = status == _DOWN
    name = alert_fields.name(alert_fields.text(monitor.get("name"), "monitor.name"))
    signal = AlertSignal(
        source=SOURCE,
        fingerprint=f"monitor-{monitor_id}",
        status="firing" if down else "resolved",
        metric="monitor_up",
        value=0.0 if down else 1.0,
        threshold=1.0,
        operator="less_than",
        environment=vocab.environment(tags.get("environment") or tags.get("env")) or defaults.environment,
        severity=alert_fields.severity_or(tags.get("severity"), defaults.severity),
        starts_at=at,
        ends_at=None if down else at,
        squad=alert_fields.name(tags.get("squad") or tags.get("team")) or defaults.squad,
        resource_id=_target(monitor) or name,
        resource_type=alert_fields.name(alert_fields.text(monitor.get("type"), "monitor.type")) or "monitor",
        summary=alert_fields.name(
            alert_fields.text(heartbeat.get("msg"), "heartbeat.msg") or alert_fields.text(body.get("msg"), "msg"), 1024
        ),
        labels={"monitor": name or monitor_id, **tags},
    )
    return AlertBatch(signals=(signal,))


def _target(monitor: dict[str, Any]) -> str | None:
    url = alert_fields.text(monitor.get("url"), "monitor.url")
    if url and url not in {"https://", "http://"}:
        return alert_fields.name(url, 512)
    return alert_fields.name(alert_fields.text(monitor.get("hostname"), "monitor.hostname"))


def _tags(value: Any) -> dict[str, str]:
    """Monitor tags as name -> value (`[{"name": "env", "value": "prod"}, ...]`)."""
    tags: dict[str, str] = {}
    for index, tag in enumerate(alert_fields.items(value or [], "monitor.tags")):
        entry = alert_fields.obj(tag, f"monitor.tags[{index}]")
        name = alert_fields.text(entry.get("name"), f"monitor.tags[{index}].name")
        key = alert_fields.name(name.strip().lower()) if name else None
        if key:
            tags[key] = (
                alert_fields.name(
                    alert_fields.text(entry.get("value"), f"monitor.tags[{index}].value"),
                    alert_fields.LABEL_VALUE_BYTES,
                )
                or ""
            )
    return tags
