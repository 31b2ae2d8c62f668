"""SLA figures are published per squad as well as for the whole organisation:
what each scope last announced, so a figure goes out only when it changes,
whichever process runs the job.

Revision ID: 0005m
Revises: 0004o
Create Date: 2026-12-02
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0005m"
down_revision: str | None = "0004o"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "sla_published",
        sa.Column("metric_name", sa.Text, primary_key=True),
        # A squad, or '*' for the figures of every squad.
        sa.Column("squad", sa.Text, primary_key=True),
        sa.Column("value", sa.Float, nullable=False),
        sa.Column("metadata", postgresql.JSONB, nullable=False),
        sa.Column("published_at", sa.DateTime(timezone=True), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("sla_published")
