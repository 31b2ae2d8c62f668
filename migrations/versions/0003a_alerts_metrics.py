"""Alert lifecycles and history, metric samples and their coalesced latest values,
and the incident status transitions SLA figures are computed from.

Revision ID: 0003a
Revises: 0003
Create Date: 2026-11-26
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0003a"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# Incidents belong to the Jira path; this trigger only watches them. Each
# change of status is recorded with the time Jira says it happened (the row's
# updated_at), so the time an incident entered resolved/closed survives later
# edits and SLA figures need nothing from the Jira store.
_RECORD_INCIDENT_STATUS = """
CREATE FUNCTION incident_status_changes_record() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO incident_status_changes (incident_id, severity, status, changed_at)
    VALUES (NEW.id, NEW.severity, NEW.status, COALESCE(NEW.updated_at, now()));
    RETURN NULL;
END
$$;
CREATE TRIGGER incident_status_changes_on_insert AFTER INSERT ON incidents
    FOR EACH ROW EXECUTE FUNCTION incident_status_changes_record();
CREATE TRIGGER incident_status_changes_on_update AFTER UPDATE OF status ON incidents
    FOR EACH ROW WHEN (OLD.status IS DISTINCT FROM NEW.status)
    EXECUTE FUNCTION incident_status_changes_record();
"""


def upgrade() -> None:
    _alerts()
    _metrics()
    _incident_status_changes()


def _alerts() -> None:
    # Identity is the sender's fingerprint within its source: Alertmanager and
    # Grafana compute the same fingerprint for the same labels.
    op.drop_constraint("alerts_fingerprint_key", "alerts", type_="unique")
    op.create_unique_constraint("uq_alerts_source_fingerprint", "alerts", ["source", "fingerprint"])
    op.add_column("alerts", sa.Column("annotations", postgresql.JSONB, nullable=False, server_default="{}"))
    op.add_column("alerts", sa.Column("summary", sa.Text))
    op.add_column("alerts", sa.Column("last_seen_at", sa.DateTime(timezone=True)))
    op.execute("UPDATE alerts SET last_seen_at = updated_at")
    op.alter_column("alerts", "last_seen_at", nullable=False)
    op.create_index(
        "ix_alerts_firing_last_seen", "alerts", ["last_seen_at"], postgresql_where=sa.text("status = 'firing'")
    )
    op.create_table(
        "alert_history",
        sa.Column("id", sa.BigInteger, sa.Identity(always=True), primary_key=True),
        sa.Column("alert_id", sa.Text, sa.ForeignKey("alerts.id", ondelete="CASCADE"), nullable=False),
        sa.Column("action", sa.Text, nullable=False),
        sa.Column("status", sa.Text, nullable=False),
        # The contract payload as it was sent with this change.
        sa.Column("data", postgresql.JSONB, nullable=False),
        sa.Column("changed_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index("ix_alert_history_alert", "alert_history", ["alert_id", "id"])


def _metrics() -> None:
    op.create_table(
        "metric_samples",
        sa.Column("id", sa.BigInteger, sa.Identity(always=True), primary_key=True),
        sa.Column("metric_name", sa.Text, nullable=False),
        # '' when the sample names no environment: keys stay comparable.
        sa.Column("environment", sa.Text, nullable=False, server_default=""),
        sa.Column("value", sa.Float, nullable=False),
        sa.Column("unit", sa.Text),
        sa.Column("timestamp", sa.DateTime(timezone=True), nullable=False),
        sa.Column("metadata", postgresql.JSONB),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()),
    )
    op.create_index("ix_metric_samples_key_time", "metric_samples", ["metric_name", "environment", "timestamp"])
    op.create_index("ix_metric_samples_timestamp", "metric_samples", ["timestamp"])
    # One row per (metric, environment): the value subscribers should see, and
    # when it was last published. `pending` marks a value held back by the
    # one-a-second rule; the publishing job sends it once the second is up.
    op.create_table(
        "metric_latest",
        sa.Column("metric_name", sa.Text, nullable=False),
        sa.Column("environment", sa.Text, nullable=False, server_default=""),
        sa.Column("value", sa.Float, nullable=False),
        sa.Column("unit", sa.Text),
        sa.Column("timestamp", sa.DateTime(timezone=True), nullable=False),
        sa.Column("metadata", postgresql.JSONB),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("last_published_at", sa.DateTime(timezone=True)),
        sa.Column("pending", sa.Boolean, nullable=False, server_default=sa.false()),
        sa.PrimaryKeyConstraint("metric_name", "environment"),
    )
    op.create_index(
        "ix_metric_latest_pending", "metric_latest", ["last_published_at"], postgresql_where=sa.text("pending")
    )


def _incident_status_changes() -> None:
    op.create_table(
        "incident_status_changes",
        sa.Column("id", sa.BigInteger, sa.Identity(always=True), primary_key=True),
        sa.Column("incident_id", sa.Text, sa.ForeignKey("incidents.id", ondelete="CASCADE"), nullable=False),
        sa.Column("severity", sa.Text, nullable=False),
        sa.Column("status", sa.Text, nullable=False),
        sa.Column("changed_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("recorded_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()),
    )
    op.create_index("ix_incident_status_changes_incident", "incident_status_changes", ["incident_id", "changed_at"])
    op.execute(
        "INSERT INTO incident_status_changes (incident_id, severity, status, changed_at) "
        "SELECT id, severity, status, updated_at FROM incidents"
    )
    op.execute(_RECORD_INCIDENT_STATUS)


def downgrade() -> None:
    op.execute("DROP TRIGGER incident_status_changes_on_update ON incidents")
    op.execute("DROP TRIGGER incident_status_changes_on_insert ON incidents")
    op.execute("DROP FUNCTION incident_status_changes_record()")
    op.drop_table("incident_status_changes")
    op.drop_table("metric_latest")
    op.drop_table("metric_samples")
    op.drop_table("alert_history")
    op.drop_index("ix_alerts_firing_last_seen", "alerts")
    for column in ("last_seen_at", "summary", "annotations"):
        op.drop_column("alerts", column)
    op.drop_constraint("uq_alerts_source_fingerprint", "alerts", type_="unique")
    op.create_unique_constraint("alerts_fingerprint_key", "alerts", ["fingerprint"])
