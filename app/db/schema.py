"""Tables, as SQLAlchemy Core sees them. Alembic migrations create them; nothing
here is ever used to create tables at run time."""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    Date,
    DateTime,
    Float,
    ForeignKey,
    Identity,
    Index,
    LargeBinary,
    MetaData,
    SmallInteger,
    Table,
    Text,
    UniqueConstraint,
    func,
)
from sqlalchemy.dialects.postgresql import ARRAY, JSON, JSONB

metadata = MetaData()

EVENTS_CHANNEL = "ops_bridge_events"

incidents = Table(
    "incidents",
    metadata,
    Column("id", Text, primary_key=True),
    Column("jira_issue_id", Text, nullable=False, unique=True),
    Column("jira_key", Text, nullable=False),
    Column("title", Text, nullable=False),
    Column("severity", Text, nullable=False),
    Column("status", Text, nullable=False),
    Column("squad", Text, nullable=False),
    Column("assignee", Text),
    Column("description", Text),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("updated_at", DateTime(timezone=True), nullable=False),
    Column("recorded_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    Index("ix_incidents_squad_updated", "squad", "updated_at"),
)

tasks = Table(
    "tasks",
    metadata,
    Column("id", Text, primary_key=True),
    Column("jira_issue_id", Text, nullable=False, unique=True),
    Column("jira_key", Text, nullable=False),
    Column("title", Text, nullable=False),
    Column("status", Text, nullable=False),
    Column("squad", Text, nullable=False),
    Column("assignee", Text),
    Column("due_date", Date),
    Column("priority", Text),
    Column("description", Text),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("updated_at", DateTime(timezone=True), nullable=False),
    Column("recorded_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    Index("ix_tasks_squad_updated", "squad", "updated_at"),
)

assets = Table(
    "assets",
    metadata,
    Column("id", Text, primary_key=True),
    Column("hostname", Text, nullable=False),
    Column("asset_type", Text, nullable=False),
    Column("ip_address", Text),
    Column("risk_level", Text, nullable=False),
    Column("owner", Text),
    Column("environment", Text, nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("updated_at", DateTime(timezone=True), nullable=False),
    Index("ix_assets_environment", "environment"),
)

alerts = Table(
    "alerts",
    metadata,
    Column("id", Text, primary_key=True),
    Column("fingerprint", Text, nullable=False, unique=True),
    Column("source", Text, nullable=False),
    Column("metric", Text, nullable=False),
    Column("value", Float, nullable=False),
    Column("threshold", Float, nullable=False),
    Column("operator", Text, nullable=False),
    Column("environment", Text, nullable=False),
    Column("severity", Text, nullable=False),
    Column("status", Text, nullable=False),
    Column("squad", Text),
    Column("resource_id", Text),
    Column("resource_type", Text),
    Column("labels", JSONB, nullable=False, server_default="{}"),
    Column("triggered_at", DateTime(timezone=True), nullable=False),
    Column("resolved_at", DateTime(timezone=True)),
    Column("updated_at", DateTime(timezone=True), nullable=False),
    Index("ix_alerts_environment_status", "environment", "status"),
)

# The event log. `position` is assigned as the writing transaction commits,
# under an advisory lock (see the initial migration), so positions become
# visible in commit order: a reader that has seen N never later finds a
# committed M < N. `id` is only the row's identity.
events = Table(
    "events",
    metadata,
    Column("id", BigInteger, Identity(always=True), primary_key=True),
    Column("position", BigInteger, unique=True),
    Column("topic", Text, nullable=False),
    Column("action", Text, nullable=False),
    Column("squad", Text),
    Column("environment", Text),
    # NULL: everyone the squad/environment rule allows; else the `sub`s and
    # e-mail addresses the event is addressed to.
    Column("audience", ARRAY(Text)),
    # The contract message without its `id`, serialized once by the writer.
    Column("message", JSON(none_as_null=True), nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    Index("ix_events_created_at", "created_at"),
)

webhook_deliveries = Table(
    "webhook_deliveries",
    metadata,
    Column("id", BigInteger, Identity(always=True), primary_key=True),
    Column("sender", Text, nullable=False),
    Column("delivery_key", Text),
    Column("received_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    Column("headers", JSONB, nullable=False, server_default="{}"),
    Column("body", LargeBinary, nullable=False),
    Column("outcome", Text, nullable=False),
    Column("error", Text),
    UniqueConstraint("sender", "delivery_key", name="uq_webhook_deliveries_sender_key"),
)

notifications = Table(
    "notifications",
    metadata,
    Column("id", Text, primary_key=True),
    Column("title", Text, nullable=False),
    Column("message", Text, nullable=False),
    Column("type", Text, nullable=False),
    Column("priority", Text, nullable=False),
    Column("action_url", Text),
    Column("metadata", JSONB),
    Column("audience", ARRAY(Text)),
    Column("sent_by", Text, nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
)

event_log_state = Table(
    "event_log_state",
    metadata,
    Column("id", SmallInteger, primary_key=True),
    Column("purged_through", BigInteger, nullable=False, server_default="0"),
)

# Alerts and metrics (migration 0003a). The alerts table gains columns; its
# identity becomes (source, fingerprint) (the migration drops the unique
# fingerprint constraint: tables are never created from this metadata).
alerts.append_column(Column("annotations", JSONB, nullable=False, server_default="{}"))
alerts.append_column(Column("summary", Text))
alerts.append_column(Column("last_seen_at", DateTime(timezone=True), nullable=False))
# What subscribers read of an alert (migration 0006a).
alerts.append_column(Column("description", Text))

alert_history = Table(
    "alert_history",
    metadata,
    Column("id", BigInteger, Identity(always=True), primary_key=True),
    Column("alert_id", Text, ForeignKey("alerts.id", ondelete="CASCADE"), nullable=False),
    Column("action", Text, nullable=False),
    Column("status", Text, nullable=False),
    Column("data", JSONB, nullable=False),
    Column("changed_at", DateTime(timezone=True), nullable=False),
)

metric_samples = Table(
    "metric_samples",
    metadata,
    Column("id", BigInteger, Identity(always=True), primary_key=True),
    Column("metric_name", Text, nullable=False),
    Column("environment", Text, nullable=False, server_default=""),
    Column("value", Float, nullable=False),
    Column("unit", Text),
    Column("timestamp", DateTime(timezone=True), nullable=False),
    Column("metadata", JSONB),
    Column("received_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
)

metric_latest = Table(
    "metric_latest",
    metadata,
    Column("metric_name", Text, primary_key=True),
    Column("environment", Text, primary_key=True, server_default=""),
    Column("value", Float, nullable=False),
    Column("unit", Text),
    Column("timestamp", DateTime(timezone=True), nullable=False),
    Column("metadata", JSONB),
    Column("updated_at", DateTime(timezone=True), nullable=False),
    Column("last_published_at", DateTime(timezone=True)),
    Column("pending", Boolean, nullable=False, server_default="false"),
)

# What the SLA job last published per metric and scope (a squad, or '*' for every squad).
sla_published = Table(
    "sla_published",
    metadata,
    Column("metric_name", Text, primary_key=True),
    Column("squad", Text, primary_key=True),
    Column("value", Float, nullable=False),
    Column("metadata", JSONB, nullable=False),
    Column("published_at", DateTime(timezone=True), nullable=False),
)

# Written by a trigger on incidents (see migration 0003a), read for SLA figures.
incident_status_changes = Table(
    "incident_status_changes",
    metadata,
    Column("id", BigInteger, Identity(always=True), primary_key=True),
    Column("incident_id", Text, ForeignKey("incidents.id", ondelete="CASCADE"), nullable=False),
    Column("severity", Text, nullable=False),
    Column("status", Text, nullable=False),
    Column("changed_at", DateTime(timezone=True), nullable=False),
    Column("recorded_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
)

# What the service remembers of a Jira issue beyond its contract payload: who
# its assignee is to a token (to notify a new assignee only), and when it was
# deleted (so a late retry of an older update cannot bring it back).
jira_issue_state = Table(
    "jira_issue_state",
    metadata,
    Column("jira_issue_id", Text, primary_key=True),
    Column("assignee_ids", ARRAY(Text), nullable=False, server_default="{}"),
    Column("deleted_at", DateTime(timezone=True)),
    Column("updated_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
)

# Assets, notification read state and the read API (migration 0003s).
assets.append_column(Column("source", Text))

notification_reads = Table(
    "notification_reads",
    metadata,
    Column("reader", Text, primary_key=True),
    Column("notification_id", Text, ForeignKey("notifications.id", ondelete="CASCADE"), primary_key=True),
    Column("read_at", DateTime(timezone=True), nullable=False),
)

# The delivery log's URL query without credentials, and its last reprocessing (migration 0004o).
webhook_deliveries.append_column(Column("query", JSONB, nullable=False, server_default="{}"))
webhook_deliveries.append_column(Column("reprocessed_at", DateTime(timezone=True)))
