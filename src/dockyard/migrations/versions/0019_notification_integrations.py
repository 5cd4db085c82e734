"""Notification integrations are the team's: each hears every project or those it is
restricted to (notification_integration_projects); a project's integration becomes one
restricted to that project, under its id (suffixed with the project's id where another
project's integration had the same id first)

Revision ID: 0019_notification_integrations
Revises: 0018_vcs_ssh_links
Create Date: 2026-12-04 21:30:00.000000
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from alembic import op

revision = "0019_notification_integrations"
down_revision = "0018_vcs_ssh_links"
branch_labels = None
depends_on = None

integrations = sa.table(
    "notification_integrations",
    sa.column("pk", sa.Integer()),
    sa.column("project_id", sa.String()),
    sa.column("id", sa.String()),
    sa.column("spec", sa.JSON()),
    sa.column("all_projects", sa.Boolean()),
)
restricted_to = sa.table(
    "notification_integration_projects",
    sa.column("integration_pk", sa.Integer()),
    sa.column("project_id", sa.String()),
)


def _rows(query: Any) -> list[Any]:
    return list(op.get_bind().execute(query).mappings())


def _unique_id(wanted: str, project_id: str, taken: set[str]) -> str:
    candidate = wanted
    number = 1
    while candidate in taken:
        suffix = f"-{project_id}" if number == 1 else f"-{project_id}-{number}"
        candidate = wanted[: 64 - len(suffix)] + suffix
        number += 1
    taken.add(candidate)
    return candidate


def upgrade() -> None:
    op.create_table(
        "notification_integration_projects",
        sa.Column("integration_pk", sa.Integer(), nullable=False),
        sa.Column("project_id", sa.String(length=64), nullable=False),
        sa.ForeignKeyConstraint(
            ["integration_pk"],
            ["notification_integrations.pk"],
            name=op.f(
                "fk_notification_integration_projects_integration_pk_notification_integrations"
            ),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["project_id"],
            ["projects.id"],
            name=op.f("fk_notification_integration_projects_project_id_projects"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint(
            "integration_pk", "project_id", name=op.f("pk_notification_integration_projects")
        ),
    )
    op.create_index(
        "ix_notification_integration_projects_project",
        "notification_integration_projects",
        ["project_id"],
    )
    op.add_column(
        "notification_integrations",
        sa.Column("all_projects", sa.Boolean(), server_default=sa.true(), nullable=False),
    )
    taken: set[str] = set()
    bind = op.get_bind()
    for row in _rows(sa.select(integrations).order_by(integrations.c.pk)):
        # Its project's integration: restricted to the project, hearing all of its resources
        # as before when it named none.
        spec = dict(row["spec"])
        restrictions = dict(spec.get("restrictions") or {}) | {"projects": [row["project_id"]]}
        spec |= {"restricted": True, "restrictions": restrictions}
        bind.execute(
            integrations.update()
            .where(integrations.c.pk == row["pk"])
            .values(
                id=_unique_id(row["id"], row["project_id"], taken),
                spec=spec,
                all_projects=False,
            )
        )
        bind.execute(
            restricted_to.insert().values(integration_pk=row["pk"], project_id=row["project_id"])
        )
    with op.batch_alter_table("notification_integrations") as batch:
        batch.drop_constraint("uq_notification_integrations_project_id_id", type_="unique")
        batch.drop_constraint(
            op.f("fk_notification_integrations_project_id_projects"), type_="foreignkey"
        )
        batch.drop_column("project_id")
        batch.create_unique_constraint(op.f("uq_notification_integrations_id"), ["id"])


def _drop_integration(pk: int) -> None:
    """Delete it with its deliveries and their attempts (SQLite migrates without cascades)."""
    deliveries = sa.table(
        "notification_deliveries", sa.column("pk", sa.Integer()), sa.column("integration_pk")
    )
    attempts = sa.table("notification_attempts", sa.column("delivery_pk", sa.Integer()))
    theirs = sa.select(deliveries.c.pk).where(deliveries.c.integration_pk == pk)
    bind = op.get_bind()
    bind.execute(attempts.delete().where(attempts.c.delivery_pk.in_(theirs)))
    bind.execute(deliveries.delete().where(deliveries.c.integration_pk == pk))
    bind.execute(integrations.delete().where(integrations.c.pk == pk))


def _project_spec(spec: dict[str, Any]) -> dict[str, Any]:
    """A spec as a project's integration had it: no projects; restricted only if it names
    jobs, services or tags."""
    restrictions = dict(spec.get("restrictions") or {})
    restrictions.pop("projects", None)
    tags = restrictions.get("tags") or {}
    named = restrictions.get("jobs") or restrictions.get("services") or tags.get("items")
    return spec | {
        "restrictions": restrictions,
        "restricted": bool(spec.get("restricted") and named),
    }


def downgrade() -> None:
    """Each integration goes back to its first project; one that heard every project, or
    whose projects are all gone, is dropped with its deliveries."""
    with op.batch_alter_table("notification_integrations") as batch:
        batch.drop_constraint(op.f("uq_notification_integrations_id"), type_="unique")
        batch.add_column(sa.Column("project_id", sa.String(length=64), nullable=True))
    bind = op.get_bind()
    owners: dict[int, str] = {}
    for row in _rows(sa.select(restricted_to).order_by(restricted_to.c.project_id)):
        owners.setdefault(row["integration_pk"], row["project_id"])
    for row in _rows(sa.select(integrations.c.pk, integrations.c.spec)):
        owner = owners.get(row["pk"])
        if owner is None:
            _drop_integration(row["pk"])
            continue
        bind.execute(
            integrations.update()
            .where(integrations.c.pk == row["pk"])
            .values(project_id=owner, spec=_project_spec(dict(row["spec"])))
        )
    with op.batch_alter_table("notification_integrations") as batch:
        batch.alter_column("project_id", existing_type=sa.String(length=64), nullable=False)
        batch.create_foreign_key(
            op.f("fk_notification_integrations_project_id_projects"),
            "projects",
            ["project_id"],
            ["id"],
            ondelete="CASCADE",
        )
        batch.create_unique_constraint(
            "uq_notification_integrations_project_id_id", ["project_id", "id"]
        )
        batch.drop_column("all_projects")
    op.drop_index(
        "ix_notification_integration_projects_project",
        table_name="notification_integration_projects",
    )
    op.drop_table("notification_integration_projects")
