"""What a project holds (jobs, build services) and deleting it with them.

Kept apart from projects/service.py because jobs and services depend on projects; this module
depends on all three and only the projects router imports it.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncSession

from dockyard.errors import Conflict
from dockyard.jobs import service as jobs
from dockyard.jobs.schemas import JobSummary
from dockyard.projects import service as projects
from dockyard.services import service as services
from dockyard.services.schemas import ServiceSummary


@dataclass(frozen=True)
class ProjectChildren:
    jobs: list[JobSummary]
    services: list[ServiceSummary]


async def children_of(session: AsyncSession, project_id: str) -> ProjectChildren:
    return ProjectChildren(
        jobs=await jobs.list_job_summaries(session, project_id),
        services=await services.list_service_summaries(session, project_id),
    )


async def delete_project(
    session: AsyncSession, project_id: str, *, delete_child_objects: bool
) -> None:
    """Delete a project; one that still has jobs or services only with `delete_child_objects`,
    and then each of them is deleted as its own DELETE would (stopping its work)."""
    project = await projects.get_project(session, project_id)
    children = await children_of(session, project_id)
    if (children.jobs or children.services) and not delete_child_objects:
        raise Conflict(
            f"Project {project_id!r} still has {len(children.jobs)} job(s) and "
            f"{len(children.services)} service(s); delete them first or pass "
            "delete_child_objects=true",
            {"jobs": len(children.jobs), "services": len(children.services)},
        )
    for job in children.jobs:
        await jobs.delete_job(session, project_id, job.id)
    for service in children.services:
        await services.delete_service(session, project_id, service.id)
    await projects.delete_project(session, project)
