"""log lines know whether their container wrote them (their time is then the engine's), so a
worker taking a run over resumes the container's log where the stored lines end

Revision ID: 0015_log_lines_from_container
Revises: 0014_sealed_urls
Create Date: 2026-12-03 06:00:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0015_log_lines_from_container"
down_revision = "0014_sealed_urls"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column(
        "log_lines",
        sa.Column("from_container", sa.Boolean(), nullable=False, server_default=sa.false()),
    )


def downgrade() -> None:
    with op.batch_alter_table("log_lines") as batch:
        batch.drop_column("from_container")
