"""index of log lines by time, for retention

Revision ID: 0010_log_lines_ts
Revises: 0009_notifications
Create Date: 2026-11-23 19:40:00.000000
"""

from __future__ import annotations

from alembic import op

revision = "0010_log_lines_ts"
down_revision = "0009_notifications"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index("ix_log_lines_ts", "log_lines", ["ts"])


def downgrade() -> None:
    op.drop_index("ix_log_lines_ts", table_name="log_lines")
