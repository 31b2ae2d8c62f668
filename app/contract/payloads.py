"""The `data` payloads of the contract (`contract/websocket-api.md`), as models.

These are the single description of what goes on the wire: messages are built
from them and the published schemas are generated from them.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, PlainSerializer, field_validator

from app.clock import iso

Timestamp = Annotated[datetime, PlainSerializer(iso, return_type=str)]

Topic = Literal["incident", "task", "asset", "alert", "notification", "metric"]
Action = Literal["created", "updated", "deleted"]
Severity = Literal["critical", "high", "medium", "low"]
IncidentStatus = Literal["open", "in_progress", "resolved", "closed"]
TaskStatus = Literal["todo", "in_progress", "review", "done"]
TaskPriority = Literal["low", "medium", "high"]
RiskLevel = Literal["critical", "high", "medium", "low"]
Environment = Literal["production", "staging", "sandbox", "dev"]
AlertOperator = Literal["greater_than", "less_than", "equals"]
NotificationType = Literal["info", "success", "warning", "error"]
NotificationPriority = Literal["low", "normal", "high", "urgent"]


class Payload(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid", populate_by_name=True)

    def wire(self) -> dict[str, Any]:
        """The JSON-ready dict sent to subscribers: optional fields left out when unset."""
        return self.model_dump(mode="json", exclude_none=True, by_alias=True)


class IncidentData(Payload):
    id: str
    jira_id: str
    title: str
    severity: Severity
    status: IncidentStatus
    squad: str
    created_at: Timestamp
    updated_at: Timestamp
    assignee: str | None = None
    description: str | None = None


class TaskData(Payload):
    id: str
    jira_id: str
    title: str
    status: TaskStatus
    squad: str
    created_at: Timestamp
    updated_at: Timestamp
    assignee: str | None = None
    due_date: date | None = None
    priority: TaskPriority | None = None
    description: str | None = None


class NotificationData(Payload):
    id: str
    title: str
    message: str
    type: NotificationType
    priority: NotificationPriority
    # The contract spells this one in camelCase.
    action_url: str | None = Field(default=None, alias="actionUrl")
    metadata: dict[str, Any] | None = None


# Alerts and metrics. `status` and `resolved_at` are additions to the
# contract's alert payload (docs/protocol.md): without them a subscriber
# cannot tell a resolution from another firing. `summary`, `description` and
# `labels` are additions too: what people read of an alert (plain text,
# bounded so that the message stays under 10 KB: app/domain/alert_text.py).
AlertStatus = Literal["firing", "resolved", "stale", "expired"]


class AlertData(Payload):
    id: str
    metric: str
    value: float
    threshold: float
    operator: AlertOperator
    environment: str
    severity: Severity
    triggered_at: Timestamp
    status: AlertStatus = Field(
        description="Extension: `firing`; `resolved` by its sender; `stale`: not re-sent for "
        "ALERT_STALE_AFTER_SECONDS; `expired`: stale for ALERT_EXPIRE_AFTER_SECONDS and closed by the service."
    )
    resource_id: str | None = None
    resource_type: str | None = None
    resolved_at: Timestamp | None = Field(
        default=None,
        description="Extension: when the sender says the alert ended (`resolved`), or when the service closed it "
        "(`expired`).",
    )
    summary: str | None = Field(default=None, description="Extension: the sender's one-line summary, plain text.")
    description: str | None = Field(
        default=None,
        description="Extension: the sender's longer description, plain text; long text is cut with a marker.",
    )
    labels: dict[str, str] | None = Field(
        default=None,
        description="Extension: the labels (or tags) the sender identifies the alert by, plain text; values are "
        "cut with a marker, and labels past the message's budget are left out.",
    )

    @field_validator("labels", mode="before")
    @classmethod
    def _no_empty_labels(cls, value: object) -> object:
        return value or None  # an alert without labels carries none, as stored ({}) or as sent


class MetricData(Payload):
    metric_name: str
    value: float
    timestamp: Timestamp
    unit: str | None = None
    environment: str | None = None
    metadata: dict[str, Any] | None = None


class AssetData(Payload):
    id: str
    hostname: str
    asset_type: str
    risk_level: RiskLevel
    environment: Environment
    created_at: Timestamp
    updated_at: Timestamp
    ip_address: str | None = None
    owner: str | None = None
