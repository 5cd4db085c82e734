"""All SQL of jobs, and the typed view of a job's stored spec."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from dockyard.db.repository import ParsedOnce
from dockyard.jobs.models import Job
from dockyard.jobs.schemas import SPECS, JobSpec, ListedSpec
from dockyard.targets.repository import TargetTable

TABLE: TargetTable[Job, JobSpec] = TargetTable(Job, lambda job: SPECS[job.job_type])
spec_of = TABLE.spec_of
"""The job's stored spec as its type's create body (a CronJobSpec for a cron job)."""
listed_of: ParsedOnce[Job, ListedSpec] = ParsedOnce(
    lambda job: job.spec, lambda job: ListedSpec.model_validate(job.spec)
)
"""The fields of the job's stored spec that lists show."""
get = TABLE.get
all_of_project = TABLE.all_of_project
everywhere = TABLE.everywhere
sealed_values = TABLE.sealed_values


async def of_type(session: AsyncSession, job_type: str) -> Sequence[Job]:
    statement = select(Job).where(Job.job_type == job_type).order_by(Job.pk)
    return (await session.execute(statement)).scalars().all()
