"""build services

Revision ID: 0003_build_services
Revises: 0002_jobs
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003_build_services"
down_revision = "0002_jobs"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "services",
        sa.Column("pk", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("project_id", sa.String(length=64), nullable=False),
        sa.Column("id", sa.String(length=64), nullable=False),
        sa.Column("uid", sa.String(length=32), nullable=False),
        sa.Column("name", sa.String(length=64), nullable=False),
        sa.Column("service_type", sa.String(length=16), nullable=False),
        sa.Column("spec", sa.JSON(), nullable=False),
        sa.Column("sealed_secrets", sa.JSON(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["project_id"],
            ["projects.id"],
            name=op.f("fk_services_project_id_projects"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("pk", name=op.f("pk_services")),
        sa.UniqueConstraint("project_id", "id", name="uq_services_project_id_id"),
        sa.UniqueConstraint("uid", name=op.f("uq_services_uid")),
    )
    op.create_index(op.f("ix_services_name"), "services", ["name"])


def downgrade() -> None:
    op.drop_index(op.f("ix_services_name"), table_name="services")
    op.drop_table("services")
