"""All SQL of jobs."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import delete, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from dockyard.db.repository import Page, PageRequest, paginate
from dockyard.jobs.models import Job


async def get(session: AsyncSession, project_id: str, job_id: str) -> Job | None:
    statement = select(Job).where(Job.project_id == project_id, Job.id == job_id)
    return (await session.execute(statement)).scalar_one_or_none()


async def page(session: AsyncSession, project_id: str, request: PageRequest) -> Page[Job]:
    return await paginate(session, select(Job).where(Job.project_id == project_id), Job.pk, request)


async def all_of_project(session: AsyncSession, project_id: str) -> Sequence[Job]:
    statement = select(Job).where(Job.project_id == project_id).order_by(Job.pk)
    return (await session.execute(statement)).scalars().all()


async def everywhere(session: AsyncSession) -> Sequence[Job]:
    """Every job of every project (webhooks match them by repository)."""
    return (await session.execute(select(Job).order_by(Job.pk))).scalars().all()


async def of_type(session: AsyncSession, job_type: str) -> Sequence[Job]:
    statement = select(Job).where(Job.job_type == job_type).order_by(Job.pk)
    return (await session.execute(statement)).scalars().all()


async def count(session: AsyncSession, project_id: str) -> int:
    statement = select(func.count()).select_from(Job).where(Job.project_id == project_id)
    return int((await session.execute(statement)).scalar_one())


async def remove(session: AsyncSession, job: Job) -> None:
    await session.execute(delete(Job).where(Job.pk == job.pk))


async def sealed_values(session: AsyncSession) -> list[str]:
    """Every sealed value of every job (the key ids they name are in use)."""
    mappings = await session.scalars(select(Job.sealed_secrets))
    return [value for mapping in mappings for value in mapping.values()]
