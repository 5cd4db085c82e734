"""All SQL of job runs: rows, pages, claiming and status compare-and-set."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, and_, delete, func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from dockyard.db.repository import Page, PageRequest, paginate
from dockyard.logs.repository import LogOwners
from dockyard.runs.models import JobRun


async def get(session: AsyncSession, run_id: str) -> JobRun | None:
    return (await session.execute(select(JobRun).where(JobRun.id == run_id))).scalar_one_or_none()


async def statuses_of(session: AsyncSession, run_ids: set[str]) -> dict[str, str]:
    """Run id -> status, of those of `run_ids` that name a run (deleted ones do not)."""
    statement = select(JobRun.id, JobRun.status).where(JobRun.id.in_(run_ids))
    return {run_id: status for run_id, status in await session.execute(statement)}


async def get_of_job(
    session: AsyncSession, project_id: str, job_id: str, run_id: str
) -> JobRun | None:
    statement = select(JobRun).where(
        JobRun.project_id == project_id, JobRun.job_id == job_id, JobRun.id == run_id
    )
    return (await session.execute(statement)).scalar_one_or_none()


async def page_of_job(
    session: AsyncSession, project_id: str, job_id: str, request: PageRequest
) -> Page[JobRun]:
    """Newest first."""
    statement = select(JobRun).where(JobRun.project_id == project_id, JobRun.job_id == job_id)
    return await paginate(session, statement, JobRun.pk, request, descending=True)


async def delete_of_job(session: AsyncSession, project_id: str, job_id: str) -> None:
    await session.execute(
        delete(JobRun).where(JobRun.project_id == project_id, JobRun.job_id == job_id)
    )


async def of_job_in(
    session: AsyncSession, project_id: str, job_id: str, statuses: list[str]
) -> list[JobRun]:
    """The job's runs in any of `statuses`, oldest first."""
    statement = (
        select(JobRun)
        .where(JobRun.project_id == project_id, JobRun.job_id == job_id)
        .where(JobRun.status.in_(statuses))
        .order_by(JobRun.pk)
    )
    return list((await session.execute(statement)).scalars())


async def scheduled(
    session: AsyncSession, project_id: str, job_id: str, scheduled_at: datetime
) -> JobRun | None:
    statement = select(JobRun).where(
        JobRun.project_id == project_id,
        JobRun.job_id == job_id,
        JobRun.scheduled_at == scheduled_at,
    )
    return (await session.execute(statement)).scalar_one_or_none()


async def last_scheduled_at(
    session: AsyncSession, project_id: str, job_id: str, not_after: datetime
) -> datetime | None:
    """The latest due time, at or before `not_after`, the job's schedule started a run for."""
    statement = select(func.max(JobRun.scheduled_at)).where(
        JobRun.project_id == project_id,
        JobRun.job_id == job_id,
        JobRun.scheduled_at <= not_after,
    )
    latest: datetime | None = (await session.execute(statement)).scalar_one()
    return latest


async def unconcluded(session: AsyncSession) -> list[JobRun]:
    """Every run not concluded yet."""
    statement = select(JobRun).where(JobRun.concluded_at.is_(None))
    return list((await session.scalars(statement)).all())


def _this_run(run: JobRun) -> ColumnElement[bool]:
    """The row of `run` itself: SQLite hands a deleted row's pk to the next row inserted, so
    the pk alone may name a newer run."""
    return and_(JobRun.pk == run.pk, JobRun.id == run.id)


async def is_claimed_by(session: AsyncSession, run: JobRun, worker_id: str) -> bool:
    statement = select(JobRun.pk).where(_this_run(run), JobRun.claimed_by == worker_id)
    return (await session.execute(statement)).first() is not None


async def compare_and_set(
    session: AsyncSession, run: JobRun, expected: dict[str, Any], changes: dict[str, Any]
) -> bool:
    """Apply `changes` only if the run's columns still hold `expected`; whether they did."""
    conditions = [getattr(JobRun, name) == value for name, value in expected.items()]
    result = await session.execute(
        update(JobRun)
        .where(_this_run(run), *conditions)
        .values(**changes)
        .execution_options(synchronize_session=False)
    )
    return bool(getattr(result, "rowcount", 0))


def log_owners(project_id: str, job_id: str, run_id: str | None = None) -> LogOwners:
    """A job's runs (or the one named), for queries over their lines."""
    statement = select(JobRun.id).where(JobRun.project_id == project_id, JobRun.job_id == job_id)
    return LogOwners("run", statement if run_id is None else statement.where(JobRun.id == run_id))


async def everywhere(session: AsyncSession) -> Sequence[JobRun]:
    """Every run of every job (re-sealing reads them all)."""
    return (await session.scalars(select(JobRun))).all()


async def sealed_values(session: AsyncSession) -> list[str]:
    """Every run's sealed inputs (the key ids they name are in use)."""
    return [sealed for sealed in await session.scalars(select(JobRun.sealed_secrets)) if sealed]
