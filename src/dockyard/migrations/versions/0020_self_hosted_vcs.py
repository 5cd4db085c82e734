"""Self-hosted VCS records: the team's own git servers (base URL, kind), which git sources
and VCS links name by selfHostedVcsId

Revision ID: 0020_self_hosted_vcs
Revises: 0019_notification_integrations
Create Date: 2026-12-04 21:30:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0020_self_hosted_vcs"
down_revision = "0019_notification_integrations"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "self_hosted_vcs",
        sa.Column("pk", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("id", sa.String(length=64), nullable=False),
        sa.Column("uid", sa.String(length=32), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("vcs_type", sa.String(length=32), nullable=True),
        sa.Column("vcs_url", sa.String(length=500), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("pk", name=op.f("pk_self_hosted_vcs")),
        sa.UniqueConstraint("id", name=op.f("uq_self_hosted_vcs_id")),
        sa.UniqueConstraint("uid", name=op.f("uq_self_hosted_vcs_uid")),
    )
    with op.batch_alter_table("vcs_links") as batch:
        batch.add_column(sa.Column("self_hosted_vcs_id", sa.String(length=32), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("vcs_links") as batch:
        batch.drop_column("self_hosted_vcs_id")
    op.drop_table("self_hosted_vcs")
