"""All SQL of CI: the events each delivery decided, and projects' webhook secrets."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import ColumnElement, delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from dockyard.ci.models import CiEvent, ProjectWebhookSecret
from dockyard.db.repository import Page, PageRequest, paginate


def _of_target(project_id: str, kind: str, target_id: str) -> tuple[ColumnElement[bool], ...]:
    return (
        CiEvent.project_id == project_id,
        CiEvent.target_kind == kind,
        CiEvent.target_id == target_id,
    )


async def built_at(
    session: AsyncSession,
    project_id: str,
    kind: str,
    target_id: str,
    sha: str,
    pull_request_id: int | None,
) -> str | None:
    """The build a CI event of the target started on commit `sha` (of that pull request, or
    of none), if one did."""
    statement = select(CiEvent.build_id).where(
        *_of_target(project_id, kind, target_id),
        CiEvent.sha == sha,
        CiEvent.pull_request_id.is_(None)
        if pull_request_id is None
        else CiEvent.pull_request_id == pull_request_id,
        CiEvent.built.is_(True),
    )
    return (await session.execute(statement.limit(1))).scalar_one_or_none()


async def events_page(
    session: AsyncSession, project_id: str, kind: str, target_id: str, request: PageRequest
) -> Page[CiEvent]:
    """The target's CI events, newest first."""
    statement = select(CiEvent).where(*_of_target(project_id, kind, target_id))
    return await paginate(session, statement, CiEvent.pk, request, descending=True)


async def delete_events_of(
    session: AsyncSession, project_id: str, kind: str, target_id: str
) -> None:
    await session.execute(delete(CiEvent).where(*_of_target(project_id, kind, target_id)))


async def get(
    session: AsyncSession, project_id: str, secret_id: str
) -> ProjectWebhookSecret | None:
    statement = select(ProjectWebhookSecret).where(
        ProjectWebhookSecret.project_id == project_id, ProjectWebhookSecret.id == secret_id
    )
    return (await session.execute(statement)).scalar_one_or_none()


async def of_project_repository(
    session: AsyncSession, project_id: str, repository: str
) -> ProjectWebhookSecret | None:
    statement = select(ProjectWebhookSecret).where(
        ProjectWebhookSecret.project_id == project_id,
        ProjectWebhookSecret.repository == repository,
    )
    return (await session.execute(statement)).scalar_one_or_none()


async def of_repository(session: AsyncSession, repository: str) -> Sequence[ProjectWebhookSecret]:
    """Every project's secret for `repository` (normalized), oldest first."""
    statement = (
        select(ProjectWebhookSecret)
        .where(ProjectWebhookSecret.repository == repository)
        .order_by(ProjectWebhookSecret.pk)
    )
    return (await session.execute(statement)).scalars().all()


async def page(
    session: AsyncSession, project_id: str, request: PageRequest
) -> Page[ProjectWebhookSecret]:
    statement = select(ProjectWebhookSecret).where(ProjectWebhookSecret.project_id == project_id)
    return await paginate(session, statement, ProjectWebhookSecret.pk, request)


async def remove(session: AsyncSession, secret: ProjectWebhookSecret) -> None:
    await session.delete(secret)


async def every_secret(session: AsyncSession) -> Sequence[ProjectWebhookSecret]:
    """Every project's webhook secrets (re-sealing reads them all)."""
    return (await session.scalars(select(ProjectWebhookSecret))).all()


async def sealed_values(session: AsyncSession) -> list[str]:
    """Every project's webhook secret, sealed (the key ids they name are in use)."""
    secrets = await session.scalars(select(ProjectWebhookSecret.sealed_secret))
    return [sealed for sealed in secrets if sealed]
