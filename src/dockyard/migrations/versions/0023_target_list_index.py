"""Jobs and services are listed by project in key order from an index on (project_id, pk):
without it a page sorted every row of the project (and read each one's spec) first

Revision ID: 0023_target_list_index
Revises: 0022_resource_metrics
Create Date: 2026-12-07 15:00:00.000000
"""

from __future__ import annotations

from alembic import op

revision = "0023_target_list_index"
down_revision = "0022_resource_metrics"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index("ix_jobs_project_id_pk", "jobs", ["project_id", "pk"])
    op.create_index("ix_services_project_id_pk", "services", ["project_id", "pk"])


def downgrade() -> None:
    op.drop_index("ix_services_project_id_pk", table_name="services")
    op.drop_index("ix_jobs_project_id_pk", table_name="jobs")
