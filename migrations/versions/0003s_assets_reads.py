"""Asset inventory sources, per-user notification read state, and the indexes the
read API's keyset pagination walks.

Revision ID: 0003s
Revises: 0003j
Create Date: 2026-11-26
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003s"
down_revision: str | None = "0003j"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# The contract's sets; the API refuses anything else with a 422 first, these
# make sure no other writer (psql, a future job) can store what the API never would.
_RISK_LEVELS = "('critical', 'high', 'medium', 'low')"
_ENVIRONMENTS = "('production', 'staging', 'sandbox', 'dev')"

# (table, name): every listing's default order is (updated_at, id), walked both ways.
_KEYSET_INDEXES = (
    ("incidents", "ix_incidents_updated_id"),
    ("tasks", "ix_tasks_updated_id"),
    ("alerts", "ix_alerts_updated_id"),
    ("assets", "ix_assets_updated_id"),
)


def upgrade() -> None:
    # Which inventory last pushed the asset (NULL: made by hand): a sync with
    # delete_missing deletes only what its own source pushed.
    op.add_column("assets", sa.Column("source", sa.Text))
    op.create_index("ix_assets_environment_source", "assets", ["environment", "source"])
    op.create_check_constraint("ck_assets_risk_level", "assets", f"risk_level IN {_RISK_LEVELS}")
    op.create_check_constraint("ck_assets_environment", "assets", f"environment IN {_ENVIRONMENTS}")
    op.create_check_constraint("ck_assets_hostname", "assets", "hostname <> ''")
    op.create_check_constraint("ck_assets_asset_type", "assets", "asset_type <> ''")
    for table, name in _KEYSET_INDEXES:
        op.create_index(name, table, ["updated_at", "id"])
    op.create_table(
        "notification_reads",
        # The reader's `sub`: read state is per user, whatever the address used.
        sa.Column("reader", sa.Text, nullable=False),
        sa.Column("notification_id", sa.Text, sa.ForeignKey("notifications.id", ondelete="CASCADE"), nullable=False),
        sa.Column("read_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("reader", "notification_id"),
    )
    op.create_index("ix_notification_reads_notification", "notification_reads", ["notification_id"])


def downgrade() -> None:
    op.drop_table("notification_reads")
    for table, name in _KEYSET_INDEXES:
        op.drop_index(name, table_name=table)
    for name in ("ck_assets_asset_type", "ck_assets_hostname", "ck_assets_environment", "ck_assets_risk_level"):
        op.drop_constraint(name, "assets", type_="check")
    op.drop_index("ix_assets_environment_source", table_name="assets")
    op.drop_column("assets", "source")
