"""projects' webhook secrets; webhook deliveries deduplicated per signer

Revision ID: 0013_project_webhook_secrets
Revises: 0012_notification_log_access
Create Date: 2026-12-02 18:45:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0013_project_webhook_secrets"
down_revision = "0012_notification_log_access"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "project_webhook_secrets",
        sa.Column("pk", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("project_id", sa.String(length=64), nullable=False),
        sa.Column("repository", sa.String(length=1024), nullable=False),
        sa.Column("sealed_secret", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["project_id"],
            ["projects.id"],
            name=op.f("fk_project_webhook_secrets_project_id_projects"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("pk", name=op.f("pk_project_webhook_secrets")),
        sa.UniqueConstraint("id", name=op.f("uq_project_webhook_secrets_id")),
        sa.UniqueConstraint(
            "project_id", "repository", name="uq_project_webhook_secrets_repository"
        ),
    )
    with op.batch_alter_table("project_webhook_secrets") as batch:
        batch.create_index(
            op.f("ix_project_webhook_secrets_repository"), ["repository"], unique=False
        )
    # Deliveries so far were all verified with the operator's secrets.
    with op.batch_alter_table("webhook_deliveries") as batch:
        batch.add_column(
            sa.Column("signer", sa.String(length=80), server_default="operator", nullable=False)
        )
        batch.drop_constraint("uq_webhook_deliveries_delivery", type_="unique")
        batch.create_unique_constraint(
            "uq_webhook_deliveries_signer_delivery", ["provider", "signer", "delivery_id"]
        )


def downgrade() -> None:
    with op.batch_alter_table("webhook_deliveries") as batch:
        batch.drop_constraint("uq_webhook_deliveries_signer_delivery", type_="unique")
        batch.create_unique_constraint(
            "uq_webhook_deliveries_delivery", ["provider", "delivery_id"]
        )
        batch.drop_column("signer")
    with op.batch_alter_table("project_webhook_secrets") as batch:
        batch.drop_index(op.f("ix_project_webhook_secrets_repository"))
    op.drop_table("project_webhook_secrets")
