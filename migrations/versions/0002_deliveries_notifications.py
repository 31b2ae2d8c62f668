"""The raw delivery log, and notifications.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-25
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "webhook_deliveries",
        sa.Column("id", sa.BigInteger, sa.Identity(always=True), primary_key=True),
        sa.Column("sender", sa.Text, nullable=False),
        # The sender's own delivery id (Jira's X-Atlassian-Webhook-Identifier):
        # a redelivery collides here and changes nothing.
        sa.Column("delivery_key", sa.Text),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()),
        sa.Column("headers", postgresql.JSONB, nullable=False, server_default="{}"),
        sa.Column("body", sa.LargeBinary, nullable=False),
        sa.Column("outcome", sa.Text, nullable=False),
        sa.Column("error", sa.Text),
        sa.UniqueConstraint("sender", "delivery_key", name="uq_webhook_deliveries_sender_key"),
    )
    op.create_index("ix_webhook_deliveries_received_at", "webhook_deliveries", ["received_at"])
    op.create_table(
        "notifications",
        sa.Column("id", sa.Text, primary_key=True),
        sa.Column("title", sa.Text, nullable=False),
        sa.Column("message", sa.Text, nullable=False),
        sa.Column("type", sa.Text, nullable=False),
        sa.Column("priority", sa.Text, nullable=False),
        sa.Column("action_url", sa.Text),
        sa.Column("metadata", postgresql.JSONB),
        # NULL: everyone allowed; else the `sub`s and e-mail addresses it is for.
        sa.Column("audience", postgresql.ARRAY(sa.Text)),
        sa.Column("sent_by", sa.Text, nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index("ix_notifications_created_at", "notifications", ["created_at"])
    op.create_index("ix_notifications_audience", "notifications", ["audience"], postgresql_using="gin")


def downgrade() -> None:
    op.drop_table("notifications")
    op.drop_table("webhook_deliveries")
