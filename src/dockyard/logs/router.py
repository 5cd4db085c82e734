"""Stored output of runs and builds: `GET .../jobs/{jobId}/logs` (its runs),
`.../jobs/{jobId}/build-logs` and `.../services/{serviceId}/build-logs` (their builds)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Path

from dockyard.api.deps import SessionDep, requires
from dockyard.api.wire import Envelope
from dockyard.auth.permissions import Permission
from dockyard.auth.service import Principal
from dockyard.builds import repository as builds
from dockyard.jobs import service as jobs
from dockyard.logs import repository
from dockyard.logs.models import LogLine
from dockyard.logs.schemas import LogEntry, LogQueryDep
from dockyard.runs import repository as runs
from dockyard.services import service as services

router = APIRouter(prefix="/projects/{projectId}", tags=["logs"])

ProjectId = Annotated[str, Path(max_length=64)]
TargetId = Annotated[str, Path(max_length=64)]
JobsObserve = Annotated[Principal, Depends(requires(Permission.JOBS_OBSERVE))]
ServicesObserve = Annotated[Principal, Depends(requires(Permission.SERVICES_OBSERVE))]


def _entries(lines: list[LogLine]) -> Envelope[list[LogEntry]]:
    return Envelope(
        data=[LogEntry(container_id=line.container_id, log=line.line, ts=line.ts) for line in lines]
    )


@router.get("/jobs/{jobId}/logs")
async def job_run_logs(
    projectId: ProjectId, jobId: TargetId, query: LogQueryDep, session: SessionDep, _: JobsObserve
) -> Envelope[list[LogEntry]]:
    """Output of the job's runs (`runId`: of one run); secrets appear as *****."""
    job = await jobs.get_job(session, projectId, jobId)
    owners = runs.ids_of_job(projectId, job.id, query.run_id)
    return _entries(await repository.query(session, "run", owners, query))


@router.get("/jobs/{jobId}/build-logs")
async def job_build_logs(
    projectId: ProjectId, jobId: TargetId, query: LogQueryDep, session: SessionDep, _: JobsObserve
) -> Envelope[list[LogEntry]]:
    """Output of the job's builds (`buildId`: of one build)."""
    job = await jobs.get_job(session, projectId, jobId)
    owners = builds.ids_of_target(projectId, "job", job.id, query.build_id)
    return _entries(await repository.query(session, "build", owners, query))


@router.get("/services/{serviceId}/build-logs")
async def service_build_logs(
    projectId: ProjectId,
    serviceId: TargetId,
    query: LogQueryDep,
    session: SessionDep,
    _: ServicesObserve,
) -> Envelope[list[LogEntry]]:
    """Output of the build service's builds (`buildId`: of one build)."""
    found = await services.get_service(session, projectId, serviceId)
    owners = builds.ids_of_target(projectId, "service", found.id, query.build_id)
    return _entries(await repository.query(session, "build", owners, query))
