"""All SQL of jobs, and the typed view of a job's stored spec."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from dockyard.db.repository import Page, PageRequest, ParsedOnce, paginate
from dockyard.jobs.models import Job
from dockyard.jobs.schemas import SPECS, JobSpec


def _parsed_spec(job: Job) -> JobSpec:
    return SPECS[job.job_type].model_validate(job.spec)


spec_of: ParsedOnce[Job, JobSpec] = ParsedOnce(lambda job: job.spec, _parsed_spec)
"""The job's stored spec as its type's create body (a CronJobSpec for a cron job), parsed once
per loaded row. Its secret fields are None: they are sealed apart (`opened_spec` in the jobs
service has them)."""


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


async def remove(session: AsyncSession, job: Job) -> None:
    await session.execute(delete(Job).where(Job.pk == job.pk))


async def sealed_values(session: AsyncSession) -> list[str]:
    """Every sealed value of every job (the key ids they name are in use)."""
    mappings = await session.scalars(select(Job.sealed_secrets))
    return [value for mapping in mappings for value in mapping.values()]
