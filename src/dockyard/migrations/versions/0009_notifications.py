"""notification integrations, their outbox of deliveries and the attempts

Revision ID: 0009_notifications
Revises: 0008_build_trigger
Create Date: 2026-11-23 19:30:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0009_notifications"
down_revision = "0008_build_trigger"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "notification_integrations",
        sa.Column("pk", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("project_id", sa.String(length=64), nullable=False),
        sa.Column("id", sa.String(length=64), nullable=False),
        sa.Column("uid", sa.String(length=32), nullable=False),
        sa.Column("spec", sa.JSON(), nullable=False),
        sa.Column("sealed_secret", sa.Text(), nullable=True),
        sa.Column("failed_attempts", sa.Integer(), nullable=False),
        sa.Column("first_failed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["project_id"],
            ["projects.id"],
            name=op.f("fk_notification_integrations_project_id_projects"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("pk", name=op.f("pk_notification_integrations")),
        sa.UniqueConstraint("project_id", "id", name="uq_notification_integrations_project_id_id"),
        sa.UniqueConstraint("uid", name=op.f("uq_notification_integrations_uid")),
    )
    op.create_table(
        "notification_deliveries",
        sa.Column("pk", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("integration_pk", sa.Integer(), nullable=False),
        sa.Column("event", sa.String(length=64), nullable=False),
        sa.Column("payload", sa.JSON(), nullable=False),
        sa.Column("body", sa.Text(), nullable=True),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("next_attempt_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("claimed_by", sa.String(length=64), nullable=True),
        sa.Column("claimed_until", sa.DateTime(timezone=True), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("concluded_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["integration_pk"],
            ["notification_integrations.pk"],
            name=op.f("fk_notification_deliveries_integration_pk_notification_integrations"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("pk", name=op.f("pk_notification_deliveries")),
        sa.UniqueConstraint("id", name=op.f("uq_notification_deliveries_id")),
    )
    with op.batch_alter_table("notification_deliveries", schema=None) as batch_op:
        batch_op.create_index(
            "ix_notification_deliveries_due", ["status", "next_attempt_at"], unique=False
        )
        batch_op.create_index(
            "ix_notification_deliveries_integration", ["integration_pk", "pk"], unique=False
        )

    op.create_table(
        "notification_attempts",
        sa.Column("pk", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("delivery_pk", sa.Integer(), nullable=False),
        sa.Column("number", sa.Integer(), nullable=False),
        sa.Column("attempted_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("status_code", sa.Integer(), nullable=True),
        sa.Column("latency_ms", sa.Integer(), nullable=False),
        sa.Column("error", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(
            ["delivery_pk"],
            ["notification_deliveries.pk"],
            name=op.f("fk_notification_attempts_delivery_pk_notification_deliveries"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("pk", name=op.f("pk_notification_attempts")),
    )
    with op.batch_alter_table("notification_attempts", schema=None) as batch_op:
        batch_op.create_index(
            "ix_notification_attempts_delivery", ["delivery_pk", "pk"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("notification_attempts", schema=None) as batch_op:
        batch_op.drop_index("ix_notification_attempts_delivery")

    op.drop_table("notification_attempts")
    with op.batch_alter_table("notification_deliveries", schema=None) as batch_op:
        batch_op.drop_index("ix_notification_deliveries_integration")
        batch_op.drop_index("ix_notification_deliveries_due")

    op.drop_table("notification_deliveries")
    op.drop_table("notification_integrations")
