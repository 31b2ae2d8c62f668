"""Event-log retention: remember how far the log has been purged.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-25
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # One row: every position up to `purged_through` may be gone. A client
    # resuming from before it is told so instead of silently missing events.
    op.create_table(
        "event_log_state",
        sa.Column("id", sa.SmallInteger, primary_key=True),
        sa.Column("purged_through", sa.BigInteger, nullable=False, server_default="0"),
        sa.CheckConstraint("id = 1", name="ck_event_log_state_single_row"),
    )
    op.execute("INSERT INTO event_log_state (id, purged_through) VALUES (1, 0)")


def downgrade() -> None:
    op.drop_table("event_log_state")
