"""VCS links: the team's accounts on git servers (login, sealed token) that fetch private
repositories

Revision ID: 0017_vcs_links
Revises: 0016_registry_credentials
Create Date: 2026-12-04 19:00:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0017_vcs_links"
down_revision = "0016_registry_credentials"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "vcs_links",
        sa.Column("pk", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("id", sa.String(length=64), nullable=False),
        sa.Column("uid", sa.String(length=32), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("vcs_service", sa.String(length=32), nullable=False),
        sa.Column("vcs_type", sa.String(length=32), nullable=True),
        sa.Column("vcs_url", sa.String(length=500), nullable=False),
        sa.Column("login", sa.String(length=100), nullable=False),
        sa.Column("sealed_secret", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("pk", name=op.f("pk_vcs_links")),
        sa.UniqueConstraint("id", name=op.f("uq_vcs_links_id")),
        sa.UniqueConstraint("uid", name=op.f("uq_vcs_links_uid")),
    )


def downgrade() -> None:
    op.drop_table("vcs_links")
