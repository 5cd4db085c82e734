"""Deleting a job, a build service or a project with everything that goes with it: builds,
runs, their log lines and CI events (a new job or service of the same name starts afresh);
a project's notification integrations (those restricted to it alone).
The API, the dashboard and project deletion all delete through here; the worker is woken to
stop what was still running, as its rows are gone. Old images are left to `dockyard gc`,
which keeps only those of builds that still exist."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from dockyard.builds import service as builds
from dockyard.builds.service import BuildTarget
from dockyard.ci import service as ci
from dockyard.db.notify import WorkSignal
from dockyard.errors import Conflict
from dockyard.jobs import service as jobs
from dockyard.jobs.models import Job
from dockyard.notifications import service as notifications
from dockyard.projects import service as projects
from dockyard.runs import service as runs
from dockyard.services import service as services
from dockyard.services.models import Service


async def _forget_job(session: AsyncSession, job: Job) -> None:
    await builds.forget_builds_of(session, BuildTarget(job.project_id, "job", job.id))
    await runs.forget_runs_of(session, job.project_id, job.id)
    await ci.forget_events_of(session, job.project_id, "job", job.id)
    await jobs.remove_job(session, job)


async def _forget_service(session: AsyncSession, found: Service) -> None:
    await builds.forget_builds_of(session, BuildTarget(found.project_id, "service", found.id))
    await ci.forget_events_of(session, found.project_id, "service", found.id)
    await services.remove_service(session, found)


async def delete_job(session: AsyncSession, wake: WorkSignal, project_id: str, job_id: str) -> None:
    await _forget_job(session, await jobs.get_job(session, project_id, job_id))
    await session.commit()
    wake.set()


async def delete_service(
    session: AsyncSession, wake: WorkSignal, project_id: str, service_id: str
) -> None:
    await _forget_service(session, await services.get_service(session, project_id, service_id))
    await session.commit()
    wake.set()


async def delete_project(
    session: AsyncSession, wake: WorkSignal, project_id: str, *, delete_child_objects: bool
) -> None:
    """Delete a project; one that still has jobs or services only with `delete_child_objects`,
    and then each of them goes as its own DELETE would take it, in the same transaction."""
    project = await projects.get_project(session, project_id)
    held_jobs = await jobs.all_of_project(session, project_id)
    held_services = await services.all_of_project(session, project_id)
    if (held_jobs or held_services) and not delete_child_objects:
        raise Conflict(
            f"Project {project_id!r} still has {len(held_jobs)} job(s) and "
            f"{len(held_services)} service(s); delete them first or pass "
            "delete_child_objects=true",
            {"jobs": len(held_jobs), "services": len(held_services)},
        )
    for job in held_jobs:
        await _forget_job(session, job)
    for found in held_services:
        await _forget_service(session, found)
    await notifications.forget_project(session, project_id)
    await projects.delete_project(session, project)
    wake.set()
