"""URLs that are credentials sealed at rest: a build's bundle URL joins its sealed inputs (its
recipe keeps it redacted), a notification integration's webhook URL moves to `sealed_webhook`
(its spec keeps it redacted)

Revision ID: 0014_sealed_urls
Revises: 0013_project_webhook_secrets
Create Date: 2026-12-02 18:50:00.000000

The values are sealed with the installation's SecretBox, which the caller hands over as
`config.attributes["secret_box"]` (dockyard's `prepare_storage` does). Without it the
migration stops before changing anything rather than drop URLs it cannot seal (or, going
down, open). On SQLite,
`secure_delete` is on for the migration, so the clear URLs' old bytes are zeroed, not left in
free pages of the file.
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from alembic import op

from dockyard.builds.service import secrets_context
from dockyard.engine.urls import redact_url
from dockyard.notifications.service import shown_webhook, webhook_context
from dockyard.secrets.crypto import SecretBox, SecretKeyError

revision = "0014_sealed_urls"
down_revision = "0013_project_webhook_secrets"
branch_labels = None
depends_on = None

builds = sa.table(
    "builds",
    sa.column("pk", sa.Integer()),
    sa.column("id", sa.String()),
    sa.column("bundle_url", sa.Text()),
    sa.column("recipe", sa.JSON()),
    sa.column("sealed_secrets", sa.Text()),
)
integrations = sa.table(
    "notification_integrations",
    sa.column("pk", sa.Integer()),
    sa.column("uid", sa.String()),
    sa.column("spec", sa.JSON()),
    sa.column("sealed_webhook", sa.Text()),
)


def _box() -> SecretBox:
    config = op.get_context().config
    box = config.attributes.get("secret_box") if config is not None else None
    if not isinstance(box, SecretBox):
        raise SecretKeyError(
            "migration 0013_sealed_urls seals (or, going down, opens) the bundle and webhook "
            "URLs and needs the installation's secret key: run it through dockyard (every "
            "`dockyard` command migrates at start), or pass a SecretBox as "
            'config.attributes["secret_box"]; nothing was changed'
        )
    return box


def _opened_inputs(box: SecretBox, build: Any) -> dict[str, Any]:
    if build["sealed_secrets"] is None:
        return {}
    inputs: dict[str, Any] = box.open_json(
        build["sealed_secrets"], context=secrets_context(build["id"])
    )
    return inputs


def _rows(query: Any) -> list[Any]:
    return list(op.get_bind().execute(query).mappings())


def _update(table: Any, pk: int, **values: Any) -> None:
    op.get_bind().execute(table.update().where(table.c.pk == pk).values(**values))


def _seal_bundle_url(box: SecretBox, build: Any) -> None:
    url = build["bundle_url"]
    inputs = _opened_inputs(box, build) | {"bundle_url": url}
    _update(
        builds,
        build["pk"],
        recipe=build["recipe"] | {"bundle": redact_url(url)},
        sealed_secrets=box.seal_json(inputs, context=secrets_context(build["id"])),
        bundle_url=None,
    )


def _seal_webhook(box: SecretBox, integration: Any) -> None:
    url = integration["spec"]["webhook"]
    _update(
        integrations,
        integration["pk"],
        spec=integration["spec"] | {"webhook": shown_webhook(url)},
        sealed_webhook=box.seal(url.encode(), context=webhook_context(integration["uid"])),
    )


def upgrade() -> None:
    box = _box()  # stops here, before any change
    bundle_builds = _rows(sa.select(builds).where(builds.c.bundle_url.is_not(None)))
    hooks = _rows(sa.select(integrations.c.pk, integrations.c.uid, integrations.c.spec))
    if op.get_bind().dialect.name == "sqlite":
        op.execute("PRAGMA secure_delete = ON")

    for build in bundle_builds:
        _seal_bundle_url(box, build)
    with op.batch_alter_table("builds") as batch:
        batch.drop_column("bundle_url")

    # Nullable in the schema: making it NOT NULL would recreate the table on SQLite, whose
    # DROP of the old one cascades to every delivery. Every row has a value.
    op.add_column(
        "notification_integrations", sa.Column("sealed_webhook", sa.Text(), nullable=True)
    )
    for integration in hooks:
        _seal_webhook(box, integration)


def _open_bundle_url(box: SecretBox, build: Any) -> None:
    inputs = _opened_inputs(box, build)
    url = inputs.pop("bundle_url", None)
    if url is not None:
        _update(
            builds,
            build["pk"],
            recipe={k: v for k, v in build["recipe"].items() if k != "bundle"},
            sealed_secrets=box.seal_json(inputs, context=secrets_context(build["id"])),
            bundle_url=url,
        )


def _open_webhook(box: SecretBox, integration: Any) -> None:
    context = webhook_context(integration["uid"])
    url = box.open(integration["sealed_webhook"], context=context).decode()
    _update(integrations, integration["pk"], spec=integration["spec"] | {"webhook": url})


def downgrade() -> None:
    box = _box()
    sealed_builds = _rows(
        sa.select(builds.c.pk, builds.c.id, builds.c.recipe, builds.c.sealed_secrets)
    )
    hooks = _rows(sa.select(integrations))

    with op.batch_alter_table("builds") as batch:
        batch.add_column(sa.Column("bundle_url", sa.Text(), nullable=True))
    for build in sealed_builds:
        _open_bundle_url(box, build)
    for integration in hooks:
        _open_webhook(box, integration)
    # Not in a batch: SQLite's own DROP COLUMN keeps the table, whose recreation would cascade.
    op.drop_column("notification_integrations", "sealed_webhook")
