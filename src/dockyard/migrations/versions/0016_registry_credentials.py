"""registry credentials as API resources (/v1/integrations/registries), the password sealed

Revision ID: 0016_registry_credentials
Revises: 0015_log_lines_from_container
Create Date: 2026-12-04 19:00:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0016_registry_credentials"
down_revision = "0015_log_lines_from_container"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "registry_credentials",
        sa.Column("pk", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("id", sa.String(length=64), nullable=False),
        sa.Column("uid", sa.String(length=32), nullable=False),
        sa.Column("spec", sa.JSON(), nullable=False),
        sa.Column("sealed_password", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("pk", name=op.f("pk_registry_credentials")),
        sa.UniqueConstraint("id", name=op.f("uq_registry_credentials_id")),
        sa.UniqueConstraint("uid", name=op.f("uq_registry_credentials_uid")),
    )


def downgrade() -> None:
    op.drop_table("registry_credentials")
