"""The contract's event messages: `{id, type, action, data, timestamp}`, one model
per topic, with the actions it comes with and its payload model.

The frames themselves are not built from these: an event is serialized once, when
it is written (`NewEvent.message()` in app/store/outbox.py, with `data` from the
payload's `wire()`), and the listener splices in its `id`. These models describe
that result for the published schemas (`GET /asyncapi.json`, `GET /api/events`);
the suite checks every message it receives against them (tests/support/contract_check.py).
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field

from app.contract.payloads import AlertData, AssetData, IncidentData, MetricData, NotificationData, TaskData, Timestamp

Written = Literal["created", "updated", "deleted"]


class _Event(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    # First, as the listener splices it in front of the stored message.
    id: int = Field(description="Its position in the global event log: increasing, not necessarily consecutive.")


class IncidentEvent(_Event):
    """An incident was created, updated or deleted (a `deleted` message carries the last stored state)."""

    type: Literal["incident"]
    action: Written
    data: IncidentData
    timestamp: Timestamp


class TaskEvent(_Event):
    """A task was created, updated or deleted."""

    type: Literal["task"]
    action: Written
    data: TaskData
    timestamp: Timestamp


class AssetEvent(_Event):
    """An asset was created, updated or deleted."""

    type: Literal["asset"]
    action: Written
    data: AssetData
    timestamp: Timestamp


class AlertEvent(_Event):
    """An alert fired for the first time (`created`), or changed: fired again, resolved, went stale (`updated`)."""

    type: Literal["alert"]
    action: Literal["created", "updated"]
    data: AlertData
    timestamp: Timestamp


class NotificationEvent(_Event):
    """A notification, to everyone allowed or to the users it names."""

    type: Literal["notification"]
    action: Literal["created"]
    data: NotificationData
    timestamp: Timestamp


class MetricEvent(_Event):
    """A metric's latest value: at most one a second per `metric_name` and `environment`."""

    type: Literal["metric"]
    action: Literal["updated"]
    data: MetricData
    timestamp: Timestamp = Field(description="When it was published; `data.timestamp` is the sample's own time.")


EVENT_MESSAGES: tuple[type[_Event], ...] = (
    IncidentEvent,
    TaskEvent,
    AssetEvent,
    AlertEvent,
    NotificationEvent,
    MetricEvent,
)

AnyEvent = Annotated[
    IncidentEvent | TaskEvent | AssetEvent | AlertEvent | NotificationEvent | MetricEvent,
    Field(discriminator="type"),
]
