"""Re-sealing every secret value at rest under the box's sealing key, after a key rotation:
job and build service fields, build inputs (bundle URLs included), run inputs, notification
secrets and webhook URLs, projects' webhook secrets, registry credentials' passwords and VCS
links' tokens. Each value keeps its context. The rows are read by each domain's repository
and written back only where they still hold the value re-sealed: a row that a running process
wrote meanwhile keeps that write (a value it sealed with the old key just before it followed
the rotation is re-sealed by the next pass, which `secrets retire` runs)."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from dockyard.builds import repository as builds_repository
from dockyard.builds.service import secrets_context as build_context
from dockyard.ci import repository as ci_repository
from dockyard.ci.models import webhook_secret_context
from dockyard.db.repository import update_if_unchanged
from dockyard.jobs import repository as jobs_repository
from dockyard.jobs.service import SECRETS as JOB_SECRETS
from dockyard.notifications import repository as notifications_repository
from dockyard.notifications.service import secret_context as notification_context
from dockyard.notifications.service import webhook_context
from dockyard.registries import repository as registries_repository
from dockyard.registries.service import password_context as registry_context
from dockyard.runs import repository as runs_repository
from dockyard.runs.service import secrets_context as run_context
from dockyard.secrets.crypto import SecretBox
from dockyard.secrets.fields import SecretFields
from dockyard.services import repository as services_repository
from dockyard.services.service import SECRETS as SERVICE_SECRETS
from dockyard.vcslinks import repository as vcslinks_repository
from dockyard.vcslinks.service import secret_context as vcs_link_context

# Each domain's every sealed value, for the key ids in use.
_SEALED_VALUES = (
    jobs_repository.sealed_values,
    services_repository.sealed_values,
    builds_repository.sealed_values,
    runs_repository.sealed_values,
    notifications_repository.sealed_values,
    ci_repository.sealed_values,
    registries_repository.sealed_values,
    vcslinks_repository.sealed_values,
)


@dataclass
class Resealed:
    counts: dict[str, int] = field(default_factory=dict)

    def add(self, table: str) -> None:
        self.counts[table] = self.counts.get(table, 0) + 1


def _reseal(box: SecretBox, sealed: str, context: str) -> str:
    return box.seal(box.open(sealed, context=context), context=context)


async def _reseal_fields(
    session: AsyncSession, box: SecretBox, rows: Iterable[Any], fields: SecretFields, done: Resealed
) -> None:
    """Each target's sealed fields (a write of a target moves its `updated_at`)."""
    for row in rows:
        stale = {k: v for k, v in row.sealed_secrets.items() if box.needs_resealing(v)}
        if not stale:
            continue
        resealed = row.sealed_secrets | {
            key: _reseal(box, value, fields.context(row.uid, key)) for key, value in stale.items()
        }
        if await update_if_unchanged(session, row, ["updated_at"], sealed_secrets=resealed):
            done.add(row.__tablename__)


async def _reseal_columns(
    session: AsyncSession,
    box: SecretBox,
    rows: Iterable[Any],
    columns: dict[str, Callable[[Any], str]],
    done: Resealed,
) -> None:
    """Each row's sealed values in `columns` (name: a row's sealing context of that column)."""
    for row in rows:
        stale = {
            name: sealed
            for name in columns
            if (sealed := getattr(row, name)) and box.needs_resealing(sealed)
        }
        if not stale:
            continue
        resealed = {
            name: _reseal(box, sealed, columns[name](row)) for name, sealed in stale.items()
        }
        if await update_if_unchanged(session, row, list(stale), **resealed):
            done.add(row.__tablename__)


async def reseal_all(session: AsyncSession, box: SecretBox) -> Resealed:
    """Every value not sealed with the box's sealing key, sealed again with it (committed)."""
    done = Resealed()
    jobs = await jobs_repository.everywhere(session)
    await _reseal_fields(session, box, jobs, JOB_SECRETS, done)
    services = await services_repository.everywhere(session)
    await _reseal_fields(session, box, services, SERVICE_SECRETS, done)
    builds = await builds_repository.everywhere(session)
    await _reseal_columns(
        session, box, builds, {"sealed_secrets": lambda b: build_context(b.id)}, done
    )
    runs = await runs_repository.everywhere(session)
    await _reseal_columns(session, box, runs, {"sealed_secrets": lambda r: run_context(r.id)}, done)
    integrations = await notifications_repository.everywhere(session)
    integration_columns: dict[str, Callable[[Any], str]] = {
        "sealed_secret": lambda n: notification_context(n.uid),
        "sealed_webhook": lambda n: webhook_context(n.uid),
    }
    await _reseal_columns(session, box, integrations, integration_columns, done)
    webhook_secrets = await ci_repository.every_secret(session)
    await _reseal_columns(
        session,
        box,
        webhook_secrets,
        {"sealed_secret": lambda w: webhook_secret_context(w.id)},
        done,
    )
    logins = await registries_repository.everywhere(session)
    await _reseal_columns(
        session, box, logins, {"sealed_password": lambda r: registry_context(r.uid)}, done
    )
    links = await vcslinks_repository.everywhere(session)
    await _reseal_columns(
        session, box, links, {"sealed_secret": lambda link: vcs_link_context(link.uid)}, done
    )
    await session.commit()
    return done


async def key_ids_in_use(session: AsyncSession) -> set[str]:
    """The key ids of every sealed value (a key may be retired when none uses it)."""
    values: list[str] = []
    for sealed_values in _SEALED_VALUES:
        values += await sealed_values(session)
    return {value.split(".", 2)[1] for value in values}
