"""cron jobs

Revision ID: 0007_cron_jobs
Revises: 0006_ci_events
Create Date: 2026-11-24 09:00:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0007_cron_jobs"
down_revision = "0006_ci_events"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("jobs", schema=None) as batch_op:
        batch_op.add_column(sa.Column("schedule_since", sa.DateTime(timezone=True), nullable=True))

    with op.batch_alter_table("job_runs", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("trigger", sa.String(length=16), server_default="api", nullable=False)
        )
        batch_op.add_column(sa.Column("scheduled_at", sa.DateTime(timezone=True), nullable=True))
        batch_op.create_unique_constraint(
            "uq_job_runs_scheduled", ["project_id", "job_id", "scheduled_at"]
        )


def downgrade() -> None:
    with op.batch_alter_table("job_runs", schema=None) as batch_op:
        batch_op.drop_constraint("uq_job_runs_scheduled", type_="unique")
        batch_op.drop_column("scheduled_at")
        batch_op.drop_column("trigger")

    with op.batch_alter_table("jobs", schema=None) as batch_op:
        batch_op.drop_column("schedule_since")
