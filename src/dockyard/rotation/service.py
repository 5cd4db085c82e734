"""Re-sealing every secret value at rest under the box's sealing key, after a key rotation:
job and build service fields, build inputs (bundle URLs included), run inputs, notification
secrets and webhook URLs, and projects' webhook secrets. Each value keeps its context."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from dockyard.builds.models import Build
from dockyard.builds.service import secrets_context as build_context
from dockyard.ci.models import ProjectWebhookSecret, webhook_secret_context
from dockyard.jobs.models import Job
from dockyard.jobs.service import SECRETS as JOB_SECRETS
from dockyard.notifications.models import NotificationIntegration
from dockyard.notifications.service import secret_context as notification_context
from dockyard.notifications.service import webhook_context
from dockyard.runs.models import JobRun
from dockyard.runs.service import secrets_context as run_context
from dockyard.secrets.crypto import SecretBox
from dockyard.secrets.fields import SecretFields
from dockyard.services.models import Service
from dockyard.services.service import SECRETS as SERVICE_SECRETS


@dataclass
class Resealed:
    counts: dict[str, int] = field(default_factory=dict)

    def add(self, table: str) -> None:
        self.counts[table] = self.counts.get(table, 0) + 1


def _reseal(box: SecretBox, sealed: str, context: str) -> str:
    return box.seal(box.open(sealed, context=context), context=context)


async def _reseal_fields(
    session: AsyncSession, box: SecretBox, model: Any, fields: SecretFields, done: Resealed
) -> None:
    rows: list[Any] = list((await session.execute(select(model))).scalars())
    for row in rows:
        stale = {k: v for k, v in row.sealed_secrets.items() if box.needs_resealing(v)}
        if stale:
            row.sealed_secrets = row.sealed_secrets | {
                key: _reseal(box, value, fields.context(row.uid, key))
                for key, value in stale.items()
            }
            done.add(model.__tablename__)


async def _reseal_columns(
    session: AsyncSession,
    box: SecretBox,
    model: Any,
    columns: dict[str, Callable[[Any], str]],
    done: Resealed,
) -> None:
    """Each row's sealed values in `columns` (name: a row's sealing context of that column)."""
    rows: list[Any] = list((await session.execute(select(model))).scalars())
    for row in rows:
        stale = {
            name: sealed
            for name in columns
            if (sealed := getattr(row, name)) and box.needs_resealing(sealed)
        }
        for name, sealed in stale.items():
            setattr(row, name, _reseal(box, sealed, columns[name](row)))
        if stale:
            done.add(model.__tablename__)


async def reseal_all(session: AsyncSession, box: SecretBox) -> Resealed:
    """Every value not sealed with the box's sealing key, sealed again with it (committed)."""
    done = Resealed()
    await _reseal_fields(session, box, Job, JOB_SECRETS, done)
    await _reseal_fields(session, box, Service, SERVICE_SECRETS, done)
    await _reseal_columns(
        session, box, Build, {"sealed_secrets": lambda b: build_context(b.id)}, done
    )
    await _reseal_columns(
        session, box, JobRun, {"sealed_secrets": lambda r: run_context(r.id)}, done
    )
    await _reseal_columns(
        session,
        box,
        NotificationIntegration,
        {
            "sealed_secret": lambda n: notification_context(n.uid),
            "sealed_webhook": lambda n: webhook_context(n.uid),
        },
        done,
    )
    await _reseal_columns(
        session,
        box,
        ProjectWebhookSecret,
        {"sealed_secret": lambda w: webhook_secret_context(w.id)},
        done,
    )
    await session.commit()
    return done


async def key_ids_in_use(session: AsyncSession) -> set[str]:
    """The key ids of every sealed value (a key may be retired when none uses it)."""
    values: list[str] = []
    for fields in (Job.sealed_secrets, Service.sealed_secrets):
        for mapping in (await session.execute(select(fields))).scalars():
            values.extend(mapping.values())
    for inputs in (
        Build.sealed_secrets,
        JobRun.sealed_secrets,
        NotificationIntegration.sealed_secret,
        NotificationIntegration.sealed_webhook,
        ProjectWebhookSecret.sealed_secret,
    ):
        values.extend(v for v in (await session.execute(select(inputs))).scalars() if v)
    return {value.split(".", 2)[1] for value in values}
