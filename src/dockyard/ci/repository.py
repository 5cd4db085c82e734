"""All SQL of projects' webhook secrets."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from dockyard.ci.models import ProjectWebhookSecret
from dockyard.db.repository import Page, PageRequest, paginate


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
