"""Amazon CloudWatch alarms delivered by Amazon SNS (HTTP/S subscription).

SNS posts an envelope whose `Type` is `SubscriptionConfirmation` (the endpoint
must visit `SubscribeURL` once), `Notification` (its `Message` is a string
holding the CloudWatch alarm as JSON) or `UnsubscribeConfirmation`. An alarm
entering ALARM fires, OK resolves, INSUFFICIENT_DATA is acknowledged and
ignored. The value is the datapoint CloudWatch quotes in `NewStateReason`.

CloudWatch carries no labels: `severity=`, `environment=` (or `env=`) and
`squad=` (or `team=`) tokens in the alarm description fill them in, then the
defaults (settings, or the webhook URL's query).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from urllib.parse import urlsplit

import orjson

from app.adapters import alert_fields
from app.domain.alerts import AlertBatch, AlertDefaults, AlertSignal
from app.domain.deliveries import Ignored
from app.errors import Forbidden, InvalidPayload
from app.normalize import alerts as vocab

SOURCE = "cloudwatch"

# "... 1 out of the last 1 datapoints [95.5 (17/01/25 10:30:00)] was greater than ..."
_DATAPOINT = re.compile(r"\[\s*([-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?)\s*\(")
_TOKEN = re.compile(r"\b(severity|environment|env|squad|team)\s*[=:]\s*([A-Za-z0-9_.-]+)", re.IGNORECASE)


@dataclass(frozen=True, slots=True)
class SnsSubscription:
    """A subscription to confirm by visiting `subscribe_url`."""

    topic_arn: str
    subscribe_url: str


@dataclass(frozen=True, slots=True)
class SnsRules:
    topic_arns: frozenset[str]
    subscribe_url: re.Pattern[str]


def parse_delivery(
    body: Any, defaults: AlertDefaults, rules: SnsRules, *, received_at: datetime
) -> AlertBatch | SnsSubscription | Ignored:
    if not isinstance(body, dict):
        raise InvalidPayload("an SNS message must be a JSON object")
    kind = alert_fields.text(body.get("Type"), "Type", required=True)
    topic = alert_fields.text(body.get("TopicArn"), "TopicArn", required=True) or ""
    if rules.topic_arns and topic not in rules.topic_arns:
        raise Forbidden("messages from this SNS topic are not accepted (SNS_TOPIC_ARNS)")
    if kind == "SubscriptionConfirmation":
        url = alert_fields.text(body.get("SubscribeURL"), "SubscribeURL", required=True) or ""
        if not visitable(url, rules.subscribe_url):
            raise InvalidPayload("'SubscribeURL' is not an SNS address this service will visit")
        return SnsSubscription(topic_arn=topic, subscribe_url=url)
    if kind == "UnsubscribeConfirmation":
        return Ignored("sns unsubscribe confirmation")
    if kind != "Notification":
        raise InvalidPayload("'Type' must be SubscriptionConfirmation, Notification or UnsubscribeConfirmation")
    alarm = _message(body.get("Message"))
    if alarm is None or "AlarmName" not in alarm or "NewStateValue" not in alarm:
        return Ignored("sns notification that is not a cloudwatch alarm")
    return _alarm(alarm, defaults, received_at)


def visitable(url: str, allowed: re.Pattern[str]) -> bool:
    """`url` matches `allowed` and an HTTP client reads it as the pattern did: no
    whitespace, control characters or backslashes (clients drop, refuse or
    reinterpret them), no user name, and a host and port that parse."""
    if any(char.isspace() or not char.isprintable() or char == "\\" for char in url):
        return False
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 - parsing the port is the check
    except ValueError:
        return False
    return not parts.username and bool(parts.hostname) and allowed.match(url) is not None


def _message(value: Any) -> dict[str, Any] | None:
    if isinstance(value, dict):
        return value
    if not isinstance(value, str):
        raise InvalidPayload("'Message' must be a string")
    try:
        parsed = orjson.loads(value)
    except orjson.JSONDecodeError:
        return None  # a plain-text notification: not an alarm
    return parsed if isinstance(parsed, dict) else None


def _alarm(alarm: dict[str, Any], defaults: AlertDefaults, now: datetime) -> AlertBatch | Ignored:
    state = alert_fields.text(alarm.get("NewStateValue"), "Message.NewStateValue", required=True)
    if state not in {"ALARM", "OK"}:
        return Ignored(f"cloudwatch alarm state {str(state)[:40]}")
    name = alert_fields.name(alert_fields.text(alarm.get("AlarmName"), "Message.AlarmName", required=True)) or "alarm"
    trigger = alert_fields.optional_obj(alarm.get("Trigger"), "Message.Trigger") or {}
    description = alert_fields.text(alarm.get("AlarmDescription"), "Message.AlarmDescription")
    tokens = _tokens(description)
    reason = alert_fields.text(alarm.get("NewStateReason"), "Message.NewStateReason") or ""
    at = alert_fields.timestamp(alarm.get("StateChangeTime"), "Message.StateChangeTime") or now
    dimension = _first_dimension(trigger)
    arn = alert_fields.text(alarm.get("AlarmArn"), "Message.AlarmArn")
    region = alert_fields.text(alarm.get("Region"), "Message.Region") or ""
    account = alert_fields.text(alarm.get("AWSAccountId"), "Message.AWSAccountId") or ""
    signal = AlertSignal(
        source=SOURCE,
        fingerprint=arn or f"{account}:{region}:{name}",
        status="firing" if state == "ALARM" else "resolved",
        metric=_metric(trigger) or name,
        value=_datapoint(reason),
        threshold=vocab.number(trigger.get("Threshold")) or 0.0,
        operator=vocab.operator(
            alert_fields.text(trigger.get("ComparisonOperator"), "Message.Trigger.ComparisonOperator")
        )
        or "greater_than",
        environment=vocab.environment(tokens.get("environment") or tokens.get("env")) or defaults.environment,
        severity=alert_fields.severity_or(tokens.get("severity"), defaults.severity),
        starts_at=at,
        ends_at=None if state == "ALARM" else at,
        squad=alert_fields.name(tokens.get("squad") or tokens.get("team")) or defaults.squad,
        resource_id=dimension[1] if dimension else None,
        resource_type=dimension[0] if dimension else None,
        summary=alert_fields.name(f"{name}: {reason}", alert_fields.SUMMARY_BYTES),
        description=alert_fields.name(description, alert_fields.DESCRIPTION_BYTES),
        labels=_labels(alarm, trigger, region, account),
    )
    return AlertBatch(signals=(signal,))


def _metric(trigger: dict[str, Any]) -> str | None:
    direct = alert_fields.text(trigger.get("MetricName"), "Message.Trigger.MetricName")
    if direct:
        return alert_fields.name(direct)
    # Metric math: the expression that returns data names the alarm's metric.
    for index, query in enumerate(alert_fields.items(trigger.get("Metrics") or [], "Message.Trigger.Metrics")):
        entry = alert_fields.obj(query, f"Message.Trigger.Metrics[{index}]")
        if entry.get("ReturnData"):
            stat = alert_fields.optional_obj(entry.get("MetricStat"), "MetricStat") or {}
            metric = alert_fields.optional_obj(stat.get("Metric"), "MetricStat.Metric") or {}
            found = metric.get("MetricName") or entry.get("Label") or entry.get("Expression") or entry.get("Id")
            return alert_fields.name(alert_fields.text(found, f"Message.Trigger.Metrics[{index}]"))
    return None


def _first_dimension(trigger: dict[str, Any]) -> tuple[str, str] | None:
    for index, raw in enumerate(alert_fields.items(trigger.get("Dimensions") or [], "Message.Trigger.Dimensions")):
        item = alert_fields.obj(raw, f"Message.Trigger.Dimensions[{index}]")
        name = alert_fields.text(item.get("name", item.get("Name")), "Message.Trigger.Dimensions.name")
        value = alert_fields.text(item.get("value", item.get("Value")), "Message.Trigger.Dimensions.value")
        if name and value:
            return alert_fields.name(name) or name, alert_fields.name(value) or value
    return None


def _datapoint(reason: str) -> float:
    match = _DATAPOINT.search(reason)
    return float(match.group(1)) if match else 0.0


def _tokens(description: str | None) -> dict[str, str]:
    return {key.lower(): value for key, value in _TOKEN.findall(description or "")}


def _labels(alarm: dict[str, Any], trigger: dict[str, Any], region: str, account: str) -> dict[str, str]:
    values = {
        "alarm_name": alarm.get("AlarmName"),
        "namespace": trigger.get("Namespace"),
        "statistic": trigger.get("Statistic") or trigger.get("ExtendedStatistic"),
        "region": region,
        "account": account,
    }
    return {key: alert_fields.name(str(value)) or "" for key, value in values.items() if value}
