"""whether a notification integration's payloads carry job / build service log lines

Revision ID: 0012_notification_log_access
Revises: 0011_build_image_digest
Create Date: 2026-12-02 14:40:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0012_notification_log_access"
down_revision = "0011_build_image_digest"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Existing integrations were made by any token with Notifications > Create, which proves
    # nothing about reading logs: they send no log lines until updated by a token that can.
    with op.batch_alter_table("notification_integrations") as batch:
        batch.add_column(
            sa.Column("job_logs", sa.Boolean(), nullable=False, server_default=sa.false())
        )
        batch.add_column(
            sa.Column("service_logs", sa.Boolean(), nullable=False, server_default=sa.false())
        )


def downgrade() -> None:
    with op.batch_alter_table("notification_integrations") as batch:
        batch.drop_column("service_logs")
        batch.drop_column("job_logs")
