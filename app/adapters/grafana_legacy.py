"""Grafana's legacy (dashboard) alert webhook to an `AlertBatch`.

Legacy alerting notifies per rule: `state` is `alerting`, `ok`, `no_data`,
`paused` or `pending`, `evalMatches` lists the series that matched (empty once
`ok`), and `tags` are the rule's tags. The service keeps one alert per rule,
so that `ok` resolves exactly what `alerting` opened; its value is the largest
matched value. The channel's "Send Test" is acknowledged and stored as nothing.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from app.adapters import alert_fields
from app.domain.alerts import AlertBatch, AlertDefaults, AlertSignal
from app.domain.deliveries import Ignored
from app.errors import InvalidPayload
from app.normalize import alerts as vocab

SOURCE = "grafana"
_FIRING = frozenset({"alerting", "no_data"})
_IGNORED = frozenset({"paused", "pending", "unknown"})
_TEST_RULE = "Test notification"
_TEST_MESSAGE = "Someone is testing the alert notification within"


def is_legacy(body: dict[str, Any]) -> bool:
    return "evalMatches" in body or ("ruleId" in body and "state" in body)


def is_test(body: dict[str, Any]) -> bool:
    """The notification channel's "Send Test": a made-up rule named "Test notification",
    with rule id 0 (later versions: a random id, and always this message)."""
    if body.get("ruleName") != _TEST_RULE:
        return False
    message = body.get("message")
    return body.get("ruleId") in (0, None) or (isinstance(message, str) and message.startswith(_TEST_MESSAGE))


def parse_delivery(body: dict[str, Any], defaults: AlertDefaults, *, received_at: datetime) -> AlertBatch | Ignored:
    if is_test(body):
        return Ignored("grafana legacy test notification")
    state = (alert_fields.text(body.get("state"), "state", required=True) or "").strip().lower()
    if state in _IGNORED:
        return Ignored(f"grafana legacy state {state}")
    if state not in _FIRING and state != "ok":
        raise InvalidPayload(f"'state' must be alerting, ok, no_data, paused or pending, not {state[:40]!r}")
    tags = alert_fields.string_map(body.get("tags"), "tags")
    matches = [
        alert_fields.obj(match, f"evalMatches[{i}]")
        for i, match in enumerate(alert_fields.items(body.get("evalMatches") or [], "evalMatches"))
    ]
    values = [v for v in (vocab.number(m.get("value")) for m in matches) if v is not None]
    rule = alert_fields.text(body.get("ruleId"), "ruleId") or alert_fields.text(
        body.get("ruleName"), "ruleName", required=True
    )
    scope = ":".join(str(body.get(key) or 0) for key in ("orgId", "dashboardId", "panelId"))
    first_series = alert_fields.text(matches[0].get("metric"), "evalMatches[0].metric") if matches else None
    rule_name = alert_fields.name(alert_fields.text(body.get("ruleName"), "ruleName"))
    message = alert_fields.name(alert_fields.text(body.get("message"), "message"), alert_fields.DESCRIPTION_BYTES)
    signal = AlertSignal(
        source=SOURCE,
        fingerprint=f"legacy-{scope}-{rule}",
        status="firing" if state in _FIRING else "resolved",
        metric=alert_fields.name(tags.get("metric")) or rule_name or "grafana_alert",
        value=max(values) if values else vocab.number(tags.get("value")) or 0.0,
        threshold=vocab.number(tags.get("threshold")) or 0.0,
        operator=vocab.operator(tags.get("operator")) or "greater_than",
        environment=vocab.environment(tags.get("environment") or tags.get("env")) or defaults.environment,
        severity=alert_fields.severity_or(tags.get("severity") or tags.get("priority"), defaults.severity),
        starts_at=received_at,
        ends_at=received_at if state == "ok" else None,
        squad=alert_fields.name(tags.get("squad") or tags.get("team")) or defaults.squad,
        resource_id=alert_fields.name(tags.get("resource_id") or first_series),
        resource_type=alert_fields.name(tags.get("resource_type")) or ("series" if first_series else None),
        summary=alert_fields.name(alert_fields.text(body.get("title"), "title"), alert_fields.SUMMARY_BYTES),
        description=message,
        labels={**({"rule_name": rule_name} if rule_name else {}), **tags},
        annotations={"message": message} if message else {},
    )
    return AlertBatch(signals=(signal,))
