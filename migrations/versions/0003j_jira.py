"""Jira issue state: assignee identities and deletion times.

Revision ID: 0003j
Revises: 0003a
Create Date: 2026-11-26
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0003j"
down_revision: str | None = "0003a"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "jira_issue_state",
        sa.Column("jira_issue_id", sa.Text, primary_key=True),
        # Cloud account id, Server/DC login and key, lower-cased e-mail: what a
        # token's `sub` or `email` may hold. A new assignee is one with none of these in common.
        sa.Column("assignee_ids", postgresql.ARRAY(sa.Text), nullable=False, server_default="{}"),
        # Set by jira:issue_deleted: updates made before it are late retries and ignored.
        sa.Column("deleted_at", sa.DateTime(timezone=True)),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()),
    )


def downgrade() -> None:
    op.drop_table("jira_issue_state")
