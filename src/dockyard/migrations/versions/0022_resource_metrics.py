"""Resource usage samples of runs and builds (CPU, memory, network, disk), which
`GET .../jobs/{jobId}/metrics` and `.../build-metrics` serve

Revision ID: 0022_resource_metrics
Revises: 0020_self_hosted_vcs
Create Date: 2026-12-07 14:10:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0022_resource_metrics"
down_revision = "0020_self_hosted_vcs"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "usage_samples",
        sa.Column("pk", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("owner_kind", sa.String(length=8), nullable=False),
        sa.Column("owner_id", sa.String(length=64), nullable=False),
        sa.Column("container", sa.String(length=128), nullable=False),
        sa.Column("ts", sa.DateTime(timezone=True), nullable=False),
        sa.Column("cpu_cores", sa.Float(), nullable=False),
        sa.Column("memory_bytes", sa.BigInteger(), nullable=False),
        sa.Column("memory_peak_bytes", sa.BigInteger(), nullable=False),
        sa.Column("memory_limit_bytes", sa.BigInteger(), nullable=True),
        sa.Column("network_rx_bytes", sa.BigInteger(), nullable=False),
        sa.Column("network_tx_bytes", sa.BigInteger(), nullable=False),
        sa.Column("disk_read_bytes", sa.BigInteger(), nullable=False),
        sa.Column("disk_write_bytes", sa.BigInteger(), nullable=False),
        sa.Column("oom_killed", sa.Boolean(), server_default=sa.false(), nullable=False),
        sa.PrimaryKeyConstraint("pk", name=op.f("pk_usage_samples")),
    )
    op.create_index(
        "ix_usage_samples_owner", "usage_samples", ["owner_kind", "owner_id", "ts"], unique=False
    )


def downgrade() -> None:
    op.drop_index("ix_usage_samples_owner", table_name="usage_samples")
    op.drop_table("usage_samples")
