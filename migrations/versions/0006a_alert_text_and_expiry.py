"""Alerts carry their description to subscribers (summary and labels were
already stored), and stale alerts expire: the expiry job finds them by when
they were last seen, as the staleness job finds firing ones.

Revision ID: 0006a
Revises: 0005m
Create Date: 2026-12-02
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0006a"
down_revision: str | None = "0005m"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("alerts", sa.Column("description", sa.Text))
    op.create_index(
        "ix_alerts_stale_last_seen", "alerts", ["last_seen_at"], postgresql_where=sa.text("status = 'stale'")
    )


def downgrade() -> None:
    op.drop_index("ix_alerts_stale_last_seen", "alerts")
    op.drop_column("alerts", "description")
