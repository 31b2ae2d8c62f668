"""One example of every message of the socket, built from the models the code
sends and parses, so an example cannot be one the schemas refuse."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

from pydantic import BaseModel

from app.contract import events as ev
from app.contract.payloads import AlertData, AssetData, IncidentData, MetricData, NotificationData, TaskData
from app.domain.notifications import NotificationInput
from app.ws import messages


def _at(hour: int, minute: int = 0, second: int = 0, ms: int = 0) -> datetime:
    return datetime(2025, 1, 17, hour, minute, second, ms * 1000, tzinfo=UTC)


def _events() -> dict[type[BaseModel], BaseModel]:
    return {
        ev.IncidentEvent: ev.IncidentEvent(
            id=1042, type="incident", action="created", timestamp=_at(10, 30, 1, 204),
            data=IncidentData(
                id="inc-10873", jira_id="OPS-1482", title="Checkout API p99 latency > 4s", severity="critical",
                status="open", squad="ops", created_at=_at(10, 30), updated_at=_at(10, 30), assignee="Priya Raman",
            ),
        ),
        ev.TaskEvent: ev.TaskEvent(
            id=1043, type="task", action="updated", timestamp=_at(11, 0, 0, 412),
            data=TaskData(
                id="task-10874", jira_id="OPS-1483", title="Rotate the TLS certificates", status="in_progress",
                squad="security", assignee="john.doe@example.com", priority="high", due_date=date(2025, 1, 24),
                created_at=datetime(2025, 1, 16, 9, tzinfo=UTC), updated_at=_at(11),
            ),
        ),
        ev.AssetEvent: ev.AssetEvent(
            id=1044, type="asset", action="created", timestamp=_at(12, 0, 0, 31),
            data=AssetData(
                id="i-0abc", hostname="web-server-01", asset_type="EC2", ip_address="10.0.1.100",
                risk_level="medium", environment="production", created_at=_at(12), updated_at=_at(12),
            ),
        ),
        ev.AlertEvent: ev.AlertEvent(
            id=1187, type="alert", action="updated", timestamp=_at(11, 58, 23, 4),
            data=AlertData(
                id="alert-alertmanager-5e0b7a2d94c1f836", metric="PostgresReplicationLag", value=312.0,
                threshold=300.0, operator="greater_than", environment="production", severity="medium",
                resource_id="pg-orders-02:9187", resource_type="instance", triggered_at=_at(10, 29, 52, 118),
                status="resolved", resolved_at=_at(11, 58, 22, 118),
                summary="Replication lag 312s on pg-orders-02",
                description="Replica pg-orders-02 is 312 s behind its primary (threshold 300 s).",
                labels={"alertname": "PostgresReplicationLag", "env": "prod", "instance": "pg-orders-02:9187",
                        "severity": "warning", "squad": "platform"},
            ),
        ),
        ev.NotificationEvent: ev.NotificationEvent(
            id=1045, type="notification", action="created", timestamp=_at(14, 0, 0, 7),
            data=NotificationData(
                id="notif-5b1f0c2a", title="New incident assigned", message="You have been assigned OPS-1482",
                type="info", priority="normal", action_url="/infra?tab=incidents",
            ),
        ),
        ev.MetricEvent: ev.MetricEvent(
            id=1046, type="metric", action="updated", timestamp=_at(15, 0, 0, 950),
            data=MetricData(
                metric_name="sla_percentage", value=99.5, unit="percent", environment="production",
                timestamp=_at(15),
            ),
        ),
    }  # fmt: skip


def _controls() -> dict[type[BaseModel], BaseModel]:
    topics = {
        "incident": messages.TopicFilterInfo(squad=["platform"]),
        "alert": messages.TopicFilterInfo(squad=["platform"]),
    }
    return {
        messages.ConnectionEstablished: messages.ConnectionEstablished(
            timestamp=_at(10, 30),
            data=messages.ConnectionInfo(
                connection_id="b85525ebce7f", sub="alice", roles=["viewer"], squads=["platform"],
                environments=["*"], position=1041, resume=None, heartbeat_interval=30.0,
            ),
        ),
        messages.SubscriptionAck: messages.SubscriptionAck(
            action="subscribe", timestamp=_at(16),
            data=messages.SubscriptionInfo(original_message_id="s-1", topics=topics, position=1046),
        ),
        messages.AuthAck: messages.AuthAck(
            timestamp=_at(16, 0, 3), data=messages.AuthInfo(original_message_id="a-1", expires_at=_at(17))
        ),
        messages.NotificationAck: messages.NotificationAck(
            timestamp=_at(16, 0, 4), data=messages.PublishedInfo(original_message_id="n-1", id="notif-5b1f0c2a")
        ),
        messages.Pong: messages.Pong(timestamp=_at(16, 0, 2), data=messages.PongInfo(original_message_id="p-1")),
        messages.ErrorMessage: messages.ErrorMessage(
            timestamp=_at(16, 30),
            data=messages.ErrorInfo(code="UNKNOWN_TOPIC", message="unknown topic 'weather'", original_message_id="m-7"),
        ),
    }  # fmt: skip


def _requests() -> dict[type[BaseModel], BaseModel]:
    return {
        messages.SubscribeRequest: messages.SubscribeRequest(
            id="s-1", action="subscribe", topics=["incidents", "alerts"],
            filters=messages.Filters(squad="platform", environment="production"),
        ),
        messages.UnsubscribeRequest: messages.UnsubscribeRequest(id="s-2", action="unsubscribe", topics=["alerts"]),
        messages.PingRequest: messages.PingRequest(id="p-1", action="ping"),
        messages.AuthRequest: messages.AuthRequest(
            id="a-1", action="auth", token="eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJhbGljZSJ9.sig"  # noqa: S106 - not a real token
        ),
        messages.PublishNotification: messages.PublishNotification(
            id="n-1", type="notification", action="created", to=["alice"],
            data=NotificationInput(title="Deploy", message="v2 is out", type="info", priority="normal"),
        ),
    }  # fmt: skip


def examples() -> dict[type[BaseModel], dict[str, Any]]:
    """Every message model's example, as it travels (JSON values; unset optional request fields left out)."""
    # Events as `wire()` sends their payloads: optional fields left out when unset.
    sent = {
        model: example.model_dump(mode="json", by_alias=True, exclude_none=True) for model, example in _events().items()
    }
    sent |= {model: example.model_dump(mode="json", by_alias=True) for model, example in _controls().items()}
    asked = {
        model: example.model_dump(mode="json", by_alias=True, exclude_unset=True)
        for model, example in _requests().items()
    }
    return sent | asked
