"""what started a build

Revision ID: 0008_build_trigger
Revises: 0007_cron_jobs
Create Date: 2026-11-23 19:00:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0008_build_trigger"
down_revision = "0007_cron_jobs"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("builds", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("trigger", sa.String(length=16), server_default="api", nullable=False)
        )


def downgrade() -> None:
    with op.batch_alter_table("builds", schema=None) as batch_op:
        batch_op.drop_column("trigger")
