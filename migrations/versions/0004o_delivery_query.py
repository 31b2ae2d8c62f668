"""The delivery log keeps the webhook URL's query (without credentials), so that
a delivery reprocessed later sees the same `?environment=`, `?squad=` and
`?severity=` defaults it arrived with, and when it was last reprocessed.

Revision ID: 0004o
Revises: 0003s
Create Date: 2026-11-27
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0004o"
down_revision: str | None = "0003s"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column(
        "webhook_deliveries", sa.Column("query", postgresql.JSONB, nullable=False, server_default=sa.text("'{}'"))
    )
    op.add_column("webhook_deliveries", sa.Column("reprocessed_at", sa.DateTime(timezone=True)))


def downgrade() -> None:
    op.drop_column("webhook_deliveries", "reprocessed_at")
    op.drop_column("webhook_deliveries", "query")
