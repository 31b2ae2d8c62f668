"""Entities and the commit-ordered event log.

Revision ID: 0001
Revises:
Create Date: 2026-11-25
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0001"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# Why positions are drawn at commit, under a lock: a bigserial id is drawn when
# a row is inserted but becomes visible when its transaction commits, and
# transactions commit in any order, so a reader that saw id 7 could later find
# a committed id 6. Here every event row gets its `position` from a deferred
# constraint trigger, which runs inside COMMIT, under a transaction-scoped
# advisory lock. The lock is released only after the commit is visible, so the
# next committer draws a larger position and becomes visible later: positions
# become visible in order. The lock is held for the commit alone, never across
# a round trip to a client, so a slow writer cannot hold up the others. The
# trigger does this for every writer, psql included: no code path can forget.
# The same trigger rings the doorbell: NOTIFY is queued by the transaction and
# delivered only if it commits; identical notifications of one transaction are
# folded into one, and the payload stays empty (payloads stop at 8000 bytes, a
# message may be 10 KB; the listener reads the log, not the notification).
EVENT_LOG_LOCK = 0x0B51_D6E1

_ASSIGN_POSITION = f"""
CREATE FUNCTION events_assign_position() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_advisory_xact_lock({EVENT_LOG_LOCK});
    UPDATE events SET position = nextval('events_position_seq') WHERE id = NEW.id;
    PERFORM pg_notify('ops_bridge_events', '');
    RETURN NULL;
END
$$;
CREATE CONSTRAINT TRIGGER events_assign_position AFTER INSERT ON events
    DEFERRABLE INITIALLY DEFERRED
    FOR EACH ROW EXECUTE FUNCTION events_assign_position();
"""


def _timestamps() -> list[sa.Column[object]]:
    return [
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
    ]


def upgrade() -> None:
    op.create_table(
        "incidents",
        sa.Column("id", sa.Text, primary_key=True),
        sa.Column("jira_issue_id", sa.Text, nullable=False, unique=True),
        sa.Column("jira_key", sa.Text, nullable=False),
        sa.Column("title", sa.Text, nullable=False),
        sa.Column("severity", sa.Text, nullable=False),
        sa.Column("status", sa.Text, nullable=False),
        sa.Column("squad", sa.Text, nullable=False),
        sa.Column("assignee", sa.Text),
        sa.Column("description", sa.Text),
        *_timestamps(),
        sa.Column("recorded_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()),
    )
    op.create_index("ix_incidents_squad_updated", "incidents", ["squad", "updated_at"])
    op.create_table(
        "tasks",
        sa.Column("id", sa.Text, primary_key=True),
        sa.Column("jira_issue_id", sa.Text, nullable=False, unique=True),
        sa.Column("jira_key", sa.Text, nullable=False),
        sa.Column("title", sa.Text, nullable=False),
        sa.Column("status", sa.Text, nullable=False),
        sa.Column("squad", sa.Text, nullable=False),
        sa.Column("assignee", sa.Text),
        sa.Column("due_date", sa.Date),
        sa.Column("priority", sa.Text),
        sa.Column("description", sa.Text),
        *_timestamps(),
        sa.Column("recorded_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()),
    )
    op.create_index("ix_tasks_squad_updated", "tasks", ["squad", "updated_at"])
    op.create_table(
        "assets",
        sa.Column("id", sa.Text, primary_key=True),
        sa.Column("hostname", sa.Text, nullable=False),
        sa.Column("asset_type", sa.Text, nullable=False),
        sa.Column("ip_address", sa.Text),
        sa.Column("risk_level", sa.Text, nullable=False),
        sa.Column("owner", sa.Text),
        sa.Column("environment", sa.Text, nullable=False),
        *_timestamps(),
    )
    op.create_index("ix_assets_environment", "assets", ["environment"])
    op.create_table(
        "alerts",
        sa.Column("id", sa.Text, primary_key=True),
        sa.Column("fingerprint", sa.Text, nullable=False, unique=True),
        sa.Column("source", sa.Text, nullable=False),
        sa.Column("metric", sa.Text, nullable=False),
        sa.Column("value", sa.Float, nullable=False),
        sa.Column("threshold", sa.Float, nullable=False),
        sa.Column("operator", sa.Text, nullable=False),
        sa.Column("environment", sa.Text, nullable=False),
        sa.Column("severity", sa.Text, nullable=False),
        sa.Column("status", sa.Text, nullable=False),
        sa.Column("squad", sa.Text),
        sa.Column("resource_id", sa.Text),
        sa.Column("resource_type", sa.Text),
        sa.Column("labels", postgresql.JSONB, nullable=False, server_default="{}"),
        sa.Column("triggered_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("resolved_at", sa.DateTime(timezone=True)),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index("ix_alerts_environment_status", "alerts", ["environment", "status"])

    op.execute("CREATE SEQUENCE events_position_seq AS bigint")
    op.create_table(
        "events",
        sa.Column("id", sa.BigInteger, sa.Identity(always=True), primary_key=True),
        # NULL only inside the writing transaction: assigned as it commits.
        sa.Column("position", sa.BigInteger, unique=True),
        sa.Column("topic", sa.Text, nullable=False),
        sa.Column("action", sa.Text, nullable=False),
        sa.Column("squad", sa.Text),
        sa.Column("environment", sa.Text),
        sa.Column("audience", postgresql.ARRAY(sa.Text)),
        sa.Column("message", postgresql.JSON, nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()),
    )
    op.execute("ALTER SEQUENCE events_position_seq OWNED BY events.position")
    op.create_index("ix_events_created_at", "events", ["created_at"])
    op.execute(_ASSIGN_POSITION)


def downgrade() -> None:
    op.drop_table("events")
    op.execute("DROP FUNCTION events_assign_position()")
    for table in ("alerts", "assets", "tasks", "incidents"):
        op.drop_table(table)
