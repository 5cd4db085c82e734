"""ci events

Revision ID: 0006_ci_events
Revises: 0005_job_runs
Create Date: 2026-11-23 11:14:44.231392
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006_ci_events"
down_revision = "0005_job_runs"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "webhook_deliveries",
        sa.Column("pk", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("provider", sa.String(length=16), nullable=False),
        sa.Column("delivery_id", sa.String(length=128), nullable=False),
        sa.Column("repository", sa.Text(), nullable=False),
        sa.Column("note", sa.Text(), nullable=True),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("pk", name=op.f("pk_webhook_deliveries")),
        sa.UniqueConstraint("provider", "delivery_id", name="uq_webhook_deliveries_delivery"),
    )
    op.create_table(
        "ci_events",
        sa.Column("pk", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("project_id", sa.String(length=64), nullable=False),
        sa.Column("target_kind", sa.String(length=16), nullable=False),
        sa.Column("target_id", sa.String(length=64), nullable=False),
        sa.Column("delivery_pk", sa.Integer(), nullable=False),
        sa.Column("branch", sa.String(length=256), nullable=False),
        sa.Column("sha", sa.String(length=40), nullable=False),
        sa.Column("pull_request_id", sa.Integer(), nullable=True),
        sa.Column("commit_message", sa.Text(), nullable=True),
        sa.Column("built", sa.Boolean(), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("build_id", sa.String(length=64), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["delivery_pk"],
            ["webhook_deliveries.pk"],
            name=op.f("fk_ci_events_delivery_pk_webhook_deliveries"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["project_id"],
            ["projects.id"],
            name=op.f("fk_ci_events_project_id_projects"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("pk", name=op.f("pk_ci_events")),
    )
    with op.batch_alter_table("ci_events", schema=None) as batch_op:
        batch_op.create_index(
            "ix_ci_events_target", ["project_id", "target_kind", "target_id", "pk"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("ci_events", schema=None) as batch_op:
        batch_op.drop_index("ix_ci_events_target")

    op.drop_table("ci_events")
    op.drop_table("webhook_deliveries")
