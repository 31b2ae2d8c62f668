"""Each sender's mapping to alerts: the rows of docs/monitoring.md's tables, on real-shaped payloads."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime
from typing import Any

import pytest

from app.adapters import alertmanager, cloudwatch_sns, generic_alert, grafana_legacy, grafana_unified, uptime_kuma
from app.domain.alerts import AlertBatch, AlertDefaults, label_fingerprint
from app.domain.deliveries import Ignored
from app.errors import Forbidden, InvalidPayload
from tests.support.clients import fixture_json

NOW = datetime(2025, 1, 17, 12, 0, tzinfo=UTC)
DEFAULTS = AlertDefaults(environment="production", severity="medium")
SNS_RULES = cloudwatch_sns.SnsRules(
    topic_arns=frozenset(), subscribe_url=re.compile(r"^https://sns\.[a-z0-9-]+\.amazonaws\.com(\.cn)?/")
)


def _batch(result: object) -> AlertBatch:
    assert isinstance(result, AlertBatch), result
    return result


def test_alertmanager_group_maps_labels_and_annotations_to_the_contract() -> None:
    batch = _batch(
        alertmanager.parse_delivery(
            fixture_json("alertmanager/firing_group_three_alerts.json"), DEFAULTS, received_at=NOW
        )
    )

    first, _, third = batch.signals
    assert first.fingerprint == "3f1a9c0e5b7d2c48"
    assert first.id == "alert-alertmanager-3f1a9c0e5b7d2c48"
    assert (first.status, first.metric, first.value, first.environment, first.severity) == (
        "firing", "CheckoutHighLatency", 4.31, "production", "critical",
    )  # fmt: skip
    assert (first.squad, first.resource_type, first.resource_id) == ("checkout", "pod", "checkout-api-7d9f8b6c4-x2kq9")
    assert first.starts_at == datetime(2025, 1, 17, 10, 14, 37, 482000, tzinfo=UTC)
    assert first.ends_at is None
    assert third.severity == "medium"  # warning
    assert "<b>" not in third.annotations["description"]
    assert batch.truncated == 0


def test_alertmanager_alert_status_wins_over_the_group_status() -> None:
    batch = _batch(
        alertmanager.parse_delivery(
            fixture_json("alertmanager/mixed_group_firing_with_resolved.json"), DEFAULTS, received_at=NOW
        )
    )

    firing, resolved = batch.signals
    assert (firing.status, resolved.status) == ("firing", "resolved")
    assert resolved.ends_at == datetime(2025, 1, 17, 9, 30, tzinfo=UTC)
    assert (firing.environment, firing.squad, firing.threshold, firing.operator) == (
        "staging", "storage", 90.0, "greater_than",
    )  # fmt: skip


def test_alertmanager_truncated_alerts_are_counted() -> None:
    batch = _batch(
        alertmanager.parse_delivery(fixture_json("alertmanager/truncated_group.json"), DEFAULTS, received_at=NOW)
    )

    assert batch.truncated == 4
    assert len(batch.signals) == 1


def test_an_alert_without_a_fingerprint_is_known_by_its_sorted_labels() -> None:
    body = fixture_json("alertmanager/truncated_group.json")
    del body["alerts"][0]["fingerprint"]
    reordered = json.loads(json.dumps(body))
    reordered["alerts"][0]["labels"] = dict(reversed(list(body["alerts"][0]["labels"].items())))

    one = _batch(alertmanager.parse_delivery(body, DEFAULTS, received_at=NOW)).signals[0]
    two = _batch(alertmanager.parse_delivery(reordered, DEFAULTS, received_at=NOW)).signals[0]

    assert one.fingerprint == two.fingerprint == label_fingerprint(body["alerts"][0]["labels"])


@pytest.mark.parametrize(
    ("body", "problem"),
    [
        ([], "JSON object"),
        ({"receiver": "x"}, "no 'alerts'"),
        ({"alerts": {}}, "'alerts' must be a list"),
        ({"alerts": [{"status": "firing"}]}, "'alerts[0].labels' is missing"),
        ({"alerts": [{"labels": {"a": "b"}}]}, "'alerts[0].status' is missing"),
        ({"alerts": [{"status": "flapping", "labels": {"a": "b"}}]}, "'firing' or 'resolved'"),
        ({"alerts": [{"status": "firing", "labels": {"a": "b"}, "startsAt": "yesterday"}]}, "alerts[0].startsAt"),
        ({"alerts": [], "truncatedAlerts": -1}, "truncatedAlerts"),
    ],
)
def test_alertmanager_bodies_of_the_wrong_shape_name_the_problem(body: Any, problem: str) -> None:
    with pytest.raises(InvalidPayload, match=re.escape(problem)):
        alertmanager.parse_delivery(body, DEFAULTS, received_at=NOW)


def test_grafana_unified_takes_the_value_the_condition_judged() -> None:
    batch = _batch(
        grafana_unified.parse_delivery(
            fixture_json("grafana/unified_firing_two_alerts.json"), DEFAULTS, received_at=NOW
        )
    )

    first, second = batch.signals
    assert (first.source, first.fingerprint, first.value, first.squad) == (
        "grafana",
        "6d1c0a9b8e7f5432",
        0.1247,
        "checkout",
    )
    assert second.value == 0.0931
    assert first.environment == "production"


def test_grafana_legacy_keeps_one_alert_per_rule_opened_by_alerting_and_resolved_by_ok() -> None:
    firing = _batch(
        grafana_legacy.parse_delivery(fixture_json("grafana/legacy_alerting.json"), DEFAULTS, received_at=NOW)
    )
    ok = _batch(grafana_legacy.parse_delivery(fixture_json("grafana/legacy_ok.json"), DEFAULTS, received_at=NOW))

    [opened], [closed] = firing.signals, ok.signals
    assert opened.id == closed.id
    assert (opened.status, opened.value, opened.severity, opened.environment) == (
        "firing",
        4.31,
        "critical",
        "production",
    )
    assert opened.metric == "Checkout p99 latency"
    assert closed.status == "resolved"


def test_grafana_legacy_paused_and_pending_are_ignored() -> None:
    body = fixture_json("grafana/legacy_alerting.json")
    body["state"] = "paused"

    assert isinstance(grafana_legacy.parse_delivery(body, DEFAULTS, received_at=NOW), Ignored)


def test_generic_alert_keeps_the_given_id_and_the_contract_fields() -> None:
    [signal] = generic_alert.parse_delivery(fixture_json("generic/single.json"), DEFAULTS, received_at=NOW).signals

    payload = signal.payload(NOW).wire()
    assert payload == {**fixture_json("generic/single.json"), "value": 95.0, "threshold": 90.0,
                       "triggered_at": "2025-01-17T13:00:00.000Z", "status": "firing"}  # fmt: skip


def test_generic_alert_list_normalizes_spellings_and_takes_resolutions() -> None:
    first, second = generic_alert.parse_delivery(fixture_json("generic/list.json"), DEFAULTS, received_at=NOW).signals

    assert (first.value, first.operator, first.environment, first.severity, first.squad) == (
        1250.0, "greater_than", "staging", "medium", "payments",
    )  # fmt: skip
    assert first.starts_at == NOW
    assert (second.fingerprint, second.status, second.ends_at) == (
        "zbx-40312", "resolved", datetime(2025, 1, 17, 13, 20, tzinfo=UTC),
    )  # fmt: skip


@pytest.mark.parametrize(
    ("body", "problem"),
    [
        ("cpu", "JSON object or a list"),
        ([], "empty"),
        ({"value": 1, "threshold": 1, "severity": "high"}, "'metric' is missing"),
        ({"metric": "m", "threshold": 1, "severity": "high"}, "'value' is missing"),
        ({"metric": "m", "value": "lots", "threshold": 1, "severity": "high"}, "'value' must be a finite number"),
        ({"metric": "m", "value": 1, "severity": "high"}, "'threshold' is missing"),
        ({"metric": "m", "value": 1, "threshold": 1}, "'severity' is missing"),
        ({"metric": "m", "value": 1, "threshold": 1, "severity": "apocalyptic"}, "'severity' is not one"),
        ({"metric": "m", "value": 1, "threshold": 1, "severity": "low", "operator": "~"}, "'operator' is not one"),
        ([{"metric": "m", "value": 1, "threshold": 1, "severity": "low", "status": "meh"}], "'[0].status'"),
    ],
)
def test_generic_alert_bodies_of_the_wrong_shape_name_the_problem(body: Any, problem: str) -> None:
    with pytest.raises(InvalidPayload, match=re.escape(problem)):
        generic_alert.parse_delivery(body, DEFAULTS, received_at=NOW)


def test_uptime_kuma_down_fires_and_up_resolves_the_monitor() -> None:
    down = _batch(uptime_kuma.parse_delivery(fixture_json("uptime_kuma/monitor_down.json"), DEFAULTS, received_at=NOW))
    up = _batch(uptime_kuma.parse_delivery(fixture_json("uptime_kuma/monitor_up.json"), DEFAULTS, received_at=NOW))

    [fired], [resolved] = down.signals, up.signals
    assert fired.id == resolved.id == "alert-uptime-kuma-monitor-29"
    assert (fired.metric, fired.value, fired.threshold, fired.operator) == ("monitor_up", 0.0, 1.0, "less_than")
    assert (fired.environment, fired.squad, fired.resource_id, fired.resource_type) == (
        "production", "web", "https://status.northwind.example", "http",
    )  # fmt: skip
    assert fired.starts_at == datetime(2025, 1, 17, 10, 40, 12, 527000, tzinfo=UTC)
    assert (resolved.status, resolved.value) == ("resolved", 1.0)
    assert resolved.ends_at == datetime(2025, 1, 17, 10, 47, 30, 4000, tzinfo=UTC)


def test_uptime_kuma_test_notifications_and_pending_heartbeats_are_ignored() -> None:
    pending = fixture_json("uptime_kuma/monitor_down.json")
    pending["heartbeat"]["status"] = 2

    assert isinstance(
        uptime_kuma.parse_delivery(fixture_json("uptime_kuma/test_notification.json"), DEFAULTS, received_at=NOW),
        Ignored,
    )
    assert isinstance(uptime_kuma.parse_delivery(pending, DEFAULTS, received_at=NOW), Ignored)
    with pytest.raises(InvalidPayload, match=r"heartbeat\.status"):
        uptime_kuma.parse_delivery({"heartbeat": {"status": "down"}}, DEFAULTS, received_at=NOW)


def test_cloudwatch_alarm_maps_trigger_reason_and_description_tokens() -> None:
    batch = _batch(
        cloudwatch_sns.parse_delivery(
            fixture_json("cloudwatch/alarm_notification.json"), DEFAULTS, SNS_RULES, received_at=NOW
        )
    )

    [signal] = batch.signals
    assert signal.fingerprint == "arn:aws:cloudwatch:eu-west-1:123456789012:alarm:orders-db-cpu-high"
    assert (signal.metric, signal.value, signal.threshold, signal.operator) == (
        "CPUUtilization", 93.41666666666667, 80.0, "greater_than",
    )  # fmt: skip
    assert (signal.severity, signal.environment, signal.squad) == ("critical", "production", "core-data")
    assert (signal.resource_type, signal.resource_id) == ("DBInstanceIdentifier", "orders-db-1")
    assert signal.starts_at == datetime(2025, 1, 17, 10, 56, 12, 113000, tzinfo=UTC)


def test_cloudwatch_ok_resolves_and_insufficient_data_is_ignored() -> None:
    ok = _batch(
        cloudwatch_sns.parse_delivery(
            fixture_json("cloudwatch/ok_notification.json"), DEFAULTS, SNS_RULES, received_at=NOW
        )
    )
    insufficient = fixture_json("cloudwatch/ok_notification.json")
    message = json.loads(insufficient["Message"])
    message["NewStateValue"] = "INSUFFICIENT_DATA"
    insufficient["Message"] = json.dumps(message)

    assert ok.signals[0].status == "resolved"
    assert isinstance(cloudwatch_sns.parse_delivery(insufficient, DEFAULTS, SNS_RULES, received_at=NOW), Ignored)


def test_sns_subscription_is_confirmed_only_at_sns_addresses_and_for_accepted_topics() -> None:
    body = fixture_json("cloudwatch/subscription_confirmation.json")
    confirmation = cloudwatch_sns.parse_delivery(body, DEFAULTS, SNS_RULES, received_at=NOW)
    forged = {**body, "SubscribeURL": "https://attacker.example/?Action=ConfirmSubscription"}
    only_other_topics = cloudwatch_sns.SnsRules(
        topic_arns=frozenset({"arn:aws:sns:x:1:other"}), subscribe_url=SNS_RULES.subscribe_url
    )

    assert isinstance(confirmation, cloudwatch_sns.SnsSubscription)
    assert confirmation.subscribe_url.startswith("https://sns.eu-west-1.amazonaws.com/")
    with pytest.raises(InvalidPayload, match="SubscribeURL"):
        cloudwatch_sns.parse_delivery(forged, DEFAULTS, SNS_RULES, received_at=NOW)
    with pytest.raises(Forbidden):
        cloudwatch_sns.parse_delivery(body, DEFAULTS, only_other_topics, received_at=NOW)
