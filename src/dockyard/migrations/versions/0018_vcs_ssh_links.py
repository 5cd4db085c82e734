"""VCS links of kind ssh: a deploy key's public key and the server's pinned host key (the
private key is sealed in `sealed_secret`, as a token is)

Revision ID: 0018_vcs_ssh_links
Revises: 0021_token_ids
Create Date: 2026-12-04 21:30:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0018_vcs_ssh_links"
down_revision = "0021_token_ids"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("vcs_links", schema=None) as batch_op:
        batch_op.add_column(sa.Column("public_key", sa.Text(), nullable=True))
        batch_op.add_column(sa.Column("host_key", sa.Text(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("vcs_links", schema=None) as batch_op:
        batch_op.drop_column("host_key")
        batch_op.drop_column("public_key")
