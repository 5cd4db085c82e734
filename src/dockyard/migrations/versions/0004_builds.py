"""builds, log lines, and the build-cache flag of services

Revision ID: 0004_builds
Revises: 0003_build_services
Create Date: 2026-11-23 09:20:59.269657
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004_builds"
down_revision = "0003_build_services"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "log_lines",
        sa.Column("pk", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("owner_kind", sa.String(length=8), nullable=False),
        sa.Column("owner_id", sa.String(length=64), nullable=False),
        sa.Column("container_id", sa.String(length=64), nullable=False),
        sa.Column("ts", sa.DateTime(timezone=True), nullable=False),
        sa.Column("line", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("pk", name=op.f("pk_log_lines")),
    )
    with op.batch_alter_table("log_lines", schema=None) as batch_op:
        batch_op.create_index("ix_log_lines_owner", ["owner_kind", "owner_id", "pk"], unique=False)

    op.create_table(
        "builds",
        sa.Column("pk", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("id", sa.String(length=64), nullable=False),
        sa.Column("project_id", sa.String(length=64), nullable=False),
        sa.Column("target_kind", sa.String(length=16), nullable=False),
        sa.Column("target_id", sa.String(length=64), nullable=False),
        sa.Column("branch", sa.String(length=256), nullable=True),
        sa.Column("pull_request_id", sa.Integer(), nullable=True),
        sa.Column("sha", sa.String(length=40), nullable=True),
        sa.Column("bundle_url", sa.Text(), nullable=True),
        sa.Column("recipe", sa.JSON(), nullable=False),
        sa.Column("sealed_secrets", sa.Text(), nullable=True),
        sa.Column("status", sa.String(length=32), nullable=False),
        sa.Column("message", sa.Text(), nullable=True),
        sa.Column("image_uri", sa.Text(), nullable=True),
        sa.Column("abort_requested", sa.Boolean(), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("claimed_by", sa.String(length=64), nullable=True),
        sa.Column("heartbeat_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("concluded_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["project_id"],
            ["projects.id"],
            name=op.f("fk_builds_project_id_projects"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("pk", name=op.f("pk_builds")),
        sa.UniqueConstraint("id", name=op.f("uq_builds_id")),
    )
    with op.batch_alter_table("builds", schema=None) as batch_op:
        batch_op.create_index("ix_builds_status", ["status", "pk"], unique=False)
        batch_op.create_index(
            "ix_builds_target", ["project_id", "target_kind", "target_id", "pk"], unique=False
        )

    with op.batch_alter_table("services", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column(
                "build_cache_dropped", sa.Boolean(), server_default=sa.false(), nullable=False
            )
        )


def downgrade() -> None:
    with op.batch_alter_table("services", schema=None) as batch_op:
        batch_op.drop_column("build_cache_dropped")
    with op.batch_alter_table("builds", schema=None) as batch_op:
        batch_op.drop_index("ix_builds_target")
        batch_op.drop_index("ix_builds_status")

    op.drop_table("builds")
    with op.batch_alter_table("log_lines", schema=None) as batch_op:
        batch_op.drop_index("ix_log_lines_owner")

    op.drop_table("log_lines")
