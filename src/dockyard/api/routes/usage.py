"""Resource metrics of a job's runs (`GET .../jobs/{jobId}/metrics`) and builds
(`.../build-metrics`), from the samples the worker took while they ran."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Path, Query

from dockyard.api.deps import SessionDep, SettingsDep, requires
from dockyard.auth.permissions import Permission
from dockyard.auth.service import Principal
from dockyard.builds import repository as builds
from dockyard.jobs import service as jobs
from dockyard.logs.repository import LogOwners
from dockyard.runs import repository as runs
from dockyard.usage import service
from dockyard.usage.schemas import Metric, MetricsQueryParams
from dockyard.wire.models import Envelope

router = APIRouter(prefix="/projects/{projectId}/jobs/{jobId}", tags=["metrics"])

ProjectId = Annotated[str, Path(max_length=64)]
JobId = Annotated[str, Path(max_length=64)]
JobsObserve = Annotated[Principal, Depends(requires(Permission.JOBS_OBSERVE))]
Params = Annotated[MetricsQueryParams, Query()]
Metrics = Envelope[dict[str, Metric]]


async def _answer(
    owners: LogOwners, params: MetricsQueryParams, session: SessionDep, settings: SettingsDep
) -> Metrics:
    found = await service.metrics(session, owners, params, settings.usage_sample_seconds)
    return Envelope(data=found)


@router.get("/metrics")
async def job_metrics(
    projectId: ProjectId,
    jobId: JobId,
    params: Params,
    session: SessionDep,
    settings: SettingsDep,
    _: JobsObserve,
) -> Metrics:
    """CPU (cores), memory (MiB, with its peak and the plan's limit), network and disk rates
    (kbit/s) of the job's runs (`runId`: of one run), one series per attempt's container."""
    job = await jobs.get_job(session, projectId, jobId)
    owners = runs.log_owners(projectId, job.id, params.runId)
    return await _answer(owners, params, session, settings)


@router.get("/build-metrics")
async def job_build_metrics(
    projectId: ProjectId,
    jobId: JobId,
    params: Params,
    session: SessionDep,
    settings: SettingsDep,
    _: JobsObserve,
) -> Metrics:
    """The same of the job's builds (`buildId`: of one build), one series per build: its
    steps' CPU, memory and disk (no network)."""
    job = await jobs.get_job(session, projectId, jobId)
    owners = builds.log_owners(projectId, "job", job.id, params.buildId)
    return await _answer(owners, params, session, settings)
