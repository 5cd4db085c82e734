"""the manifest digest each build pushed

Revision ID: 0011_build_image_digest
Revises: 0010_log_lines_ts
Create Date: 2026-12-02 08:00:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0011_build_image_digest"
down_revision = "0010_log_lines_ts"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Builds pushed before have none: their runs pull by tag (runs/service.py).
    with op.batch_alter_table("builds") as batch:
        batch.add_column(sa.Column("image_digest", sa.String(length=71), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("builds") as batch:
        batch.drop_column("image_digest")
