"""API tokens get a public id (`GET /v1/tokens`, `DELETE /v1/tokens/{tokenId}`) and an
optional description; existing tokens get an id each

Revision ID: 0021_token_ids
Revises: 0017_vcs_links
Create Date: 2026-12-04 21:40:00.000000
"""

from __future__ import annotations

import secrets

import sqlalchemy as sa
from alembic import op

revision = "0021_token_ids"
down_revision = "0017_vcs_links"
branch_labels = None
depends_on = None

tokens = sa.table("api_tokens", sa.column("pk", sa.Integer()), sa.column("uid", sa.String()))


def upgrade() -> None:
    with op.batch_alter_table("api_tokens") as batch:
        batch.add_column(sa.Column("uid", sa.String(length=32), nullable=True))
        batch.add_column(sa.Column("description", sa.String(length=200), nullable=True))
    bind = op.get_bind()
    for (pk,) in bind.execute(sa.select(tokens.c.pk)).all():
        bind.execute(tokens.update().where(tokens.c.pk == pk).values(uid=secrets.token_hex(12)))
    with op.batch_alter_table("api_tokens") as batch:
        batch.alter_column("uid", existing_type=sa.String(length=32), nullable=False)
        batch.create_unique_constraint(batch.f("uq_api_tokens_uid"), ["uid"])


def downgrade() -> None:
    with op.batch_alter_table("api_tokens") as batch:
        batch.drop_constraint(batch.f("uq_api_tokens_uid"), type_="unique")
        batch.drop_column("description")
        batch.drop_column("uid")
