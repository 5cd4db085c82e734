"""All SQL of notification integrations, their outbox of deliveries and the attempts, and the
typed view of an integration's stored spec."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, delete, func, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from dockyard.db.repository import Page, PageRequest, ParsedOnce, paginate
from dockyard.notifications.models import (
    NotificationAttempt,
    NotificationDelivery,
    NotificationIntegration,
    NotificationIntegrationProject,
)
from dockyard.notifications.schemas import NotificationSpec


def _parsed_spec(integration: NotificationIntegration) -> NotificationSpec:
    return NotificationSpec.model_validate(integration.spec)


spec_of: ParsedOnce[NotificationIntegration, NotificationSpec] = ParsedOnce(
    lambda integration: integration.spec, _parsed_spec
)
"""The integration's stored spec (its webhook URL redacted, no secret), parsed once per loaded
row."""

PENDING = "pending"

# ---- integrations --------------------------------------------------------------------------


async def get(session: AsyncSession, integration_id: str) -> NotificationIntegration | None:
    statement = select(NotificationIntegration).where(NotificationIntegration.id == integration_id)
    return (await session.execute(statement)).scalar_one_or_none()


def _restricted_to(project_id: str) -> ColumnElement[bool]:
    """The integration is restricted to `project_id` (among others, maybe)."""
    return NotificationIntegration.pk.in_(
        select(NotificationIntegrationProject.integration_pk).where(
            NotificationIntegrationProject.project_id == project_id
        )
    )


async def page(
    session: AsyncSession, project_id: str | None, request: PageRequest
) -> Page[NotificationIntegration]:
    """Every integration, or (`project_id`) those restricted to that project."""
    statement = select(NotificationIntegration)
    if project_id is not None:
        statement = statement.where(_restricted_to(project_id))
    return await paginate(session, statement, NotificationIntegration.pk, request)


async def hearing(session: AsyncSession, project_id: str) -> Sequence[NotificationIntegration]:
    """The integrations that hear the project: those of every project and those restricted
    to it (a handful: their other filters are applied in Python)."""
    statement = (
        select(NotificationIntegration)
        .where(or_(NotificationIntegration.all_projects, _restricted_to(project_id)))
        .order_by(NotificationIntegration.pk)
    )
    return (await session.execute(statement)).scalars().all()


async def projects_of(session: AsyncSession, pks: Sequence[int]) -> dict[int, list[str]]:
    """The projects each integration is restricted to, by id."""
    statement = (
        select(NotificationIntegrationProject)
        .where(NotificationIntegrationProject.integration_pk.in_(pks))
        .order_by(NotificationIntegrationProject.project_id)
    )
    found: dict[int, list[str]] = {pk: [] for pk in pks}
    for row in (await session.execute(statement)).scalars():
        found[row.integration_pk].append(row.project_id)
    return found


async def restrict(
    session: AsyncSession, integration: NotificationIntegration, project_ids: Sequence[str]
) -> None:
    """Restrict the integration (written, with its pk) to exactly `project_ids`."""
    await session.execute(
        delete(NotificationIntegrationProject).where(
            NotificationIntegrationProject.integration_pk == integration.pk
        )
    )
    session.add_all(
        NotificationIntegrationProject(integration_pk=integration.pk, project_id=project_id)
        for project_id in project_ids
    )


async def restricted_to(
    session: AsyncSession, project_id: str
) -> Sequence[NotificationIntegration]:
    """The integrations restricted to this project (among others, maybe)."""
    statement = select(NotificationIntegration).where(_restricted_to(project_id))
    return (await session.execute(statement)).scalars().all()


async def only_of(session: AsyncSession, project_id: str) -> Sequence[NotificationIntegration]:
    """The integrations restricted to this project and no other."""
    others = select(NotificationIntegrationProject.integration_pk).where(
        NotificationIntegrationProject.project_id != project_id
    )
    statement = select(NotificationIntegration).where(
        _restricted_to(project_id), NotificationIntegration.pk.not_in(others)
    )
    return (await session.execute(statement)).scalars().all()


async def remove(session: AsyncSession, integration: NotificationIntegration) -> None:
    await session.delete(integration)


async def everywhere(session: AsyncSession) -> Sequence[NotificationIntegration]:
    """Every integration (re-sealing reads them all)."""
    return (await session.scalars(select(NotificationIntegration))).all()


async def sealed_values(session: AsyncSession) -> list[str]:
    """Every integration's signing secret and webhook URL, sealed (the key ids they name are
    in use)."""
    statement = select(
        NotificationIntegration.sealed_secret, NotificationIntegration.sealed_webhook
    )
    return [sealed for row in (await session.execute(statement)).all() for sealed in row if sealed]


async def count_failure(session: AsyncSession, pk: int, error: str, now: datetime) -> None:
    """One more attempt failed in a row (counted in SQL: workers may count at once)."""
    await session.execute(
        update(NotificationIntegration)
        .where(NotificationIntegration.pk == pk)
        .values(
            failed_attempts=NotificationIntegration.failed_attempts + 1,
            first_failed_at=func.coalesce(NotificationIntegration.first_failed_at, now),
            last_error=error,
        )
        .execution_options(synchronize_session=False)
    )


async def clear_failures(session: AsyncSession, pk: int) -> None:
    await session.execute(
        update(NotificationIntegration)
        .where(NotificationIntegration.pk == pk, NotificationIntegration.failed_attempts > 0)
        .values(failed_attempts=0, first_failed_at=None, last_error=None)
        .execution_options(synchronize_session=False)
    )


# ---- deliveries ----------------------------------------------------------------------------


async def deliveries_page(
    session: AsyncSession, integration_pk: int, request: PageRequest
) -> Page[NotificationDelivery]:
    """Newest first."""
    statement = select(NotificationDelivery).where(
        NotificationDelivery.integration_pk == integration_pk
    )
    return await paginate(session, statement, NotificationDelivery.pk, request, descending=True)


async def attempts_of(
    session: AsyncSession, delivery_pks: Sequence[int]
) -> dict[int, list[NotificationAttempt]]:
    statement = (
        select(NotificationAttempt)
        .where(NotificationAttempt.delivery_pk.in_(delivery_pks))
        .order_by(NotificationAttempt.pk)
    )
    found: dict[int, list[NotificationAttempt]] = {pk: [] for pk in delivery_pks}
    for attempt in (await session.execute(statement)).scalars():
        found[attempt.delivery_pk].append(attempt)
    return found


async def due(
    session: AsyncSession, now: datetime, limit: int
) -> list[tuple[NotificationDelivery, NotificationIntegration]]:
    """Pending deliveries whose time has come and that no worker holds, soonest first, with
    their integrations; locked for this transaction where the database can (PostgreSQL:
    FOR UPDATE SKIP LOCKED; SQLite has one writer anyway)."""
    statement = (
        select(NotificationDelivery, NotificationIntegration)
        .join(
            NotificationIntegration,
            NotificationIntegration.pk == NotificationDelivery.integration_pk,
        )
        .where(
            NotificationDelivery.status == PENDING,
            NotificationDelivery.next_attempt_at <= now,
            or_(
                NotificationDelivery.claimed_until.is_(None),
                NotificationDelivery.claimed_until < now,
            ),
        )
        .order_by(NotificationDelivery.next_attempt_at, NotificationDelivery.pk)
        .limit(limit)
        .with_for_update(skip_locked=True, of=NotificationDelivery)
    )
    return [(delivery, integration) for delivery, integration in (await session.execute(statement))]


async def claim(
    session: AsyncSession, delivery: NotificationDelivery, changes: dict[str, Any]
) -> bool:
    """Apply `changes` (the claim) only if no one claimed or sent the delivery since it was
    read (its holder and its attempt count are unchanged)."""
    holder = NotificationDelivery.claimed_by
    result = await session.execute(
        update(NotificationDelivery)
        .where(
            NotificationDelivery.pk == delivery.pk,
            NotificationDelivery.status == PENDING,
            NotificationDelivery.attempts == delivery.attempts,
            holder.is_(None) if delivery.claimed_by is None else holder == delivery.claimed_by,
        )
        .values(**changes)
        .execution_options(synchronize_session=False)
    )
    return bool(getattr(result, "rowcount", 0))


async def settle(
    session: AsyncSession, delivery_pk: int, worker_id: str, changes: dict[str, Any]
) -> bool:
    """Apply the outcome of an attempt while this worker still holds the delivery."""
    result = await session.execute(
        update(NotificationDelivery)
        .where(
            NotificationDelivery.pk == delivery_pk,
            NotificationDelivery.status == PENDING,
            NotificationDelivery.claimed_by == worker_id,
        )
        .values(**changes)
        .execution_options(synchronize_session=False)
    )
    return bool(getattr(result, "rowcount", 0))


async def release(session: AsyncSession, delivery_pks: Sequence[int], worker_id: str) -> None:
    """Hand these deliveries back (shutdown): any worker may send them at once."""
    await session.execute(
        update(NotificationDelivery)
        .where(
            NotificationDelivery.pk.in_(delivery_pks),
            NotificationDelivery.claimed_by == worker_id,
        )
        .values(claimed_by=None, claimed_until=None)
        .execution_options(synchronize_session=False)
    )
