"""Runs of jobs under /v1/projects/{projectId}/jobs/{jobId}/runs: start, list (newest first),
get, abort (DELETE)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path

from dockyard.api.deps import SecretBoxDep, SessionDep, SettingsDep, WorkerWakeDep
from dockyard.api.pagination import PageDep, pagination_of
from dockyard.api.permissions import RunsAbort, RunsRead, RunsStart
from dockyard.jobs import service as jobs
from dockyard.runs import service
from dockyard.runs.overrides import require_override_permission
from dockyard.runs.schemas import RunList, RunResponse, StartedRun, StartJobRunRequest
from dockyard.wire.bodies import wire_body
from dockyard.wire.models import Envelope, ListEnvelope

router = APIRouter(prefix="/projects/{projectId}/jobs/{jobId}/runs", tags=["runs"])

ProjectId = Annotated[str, Path(max_length=64, description="ID of the project")]
JobId = Annotated[str, Path(max_length=64, description="ID of the job")]
RunId = Annotated[str, Path(max_length=64, description="ID of the run")]


@router.post("")
async def start_job_run(
    projectId: ProjectId,
    jobId: JobId,
    body: StartJobRunRequest,
    session: SessionDep,
    box: SecretBoxDep,
    settings: SettingsDep,
    wake: WorkerWakeDep,
    principal: RunsStart,
) -> Envelope[StartedRun]:
    """Run the job once, with this request's overrides; 409 when it has nothing to run yet."""
    overrides = wire_body(body)
    require_override_permission(principal, overrides)
    jobs.refuse_own_registry_image(settings.registry, body)
    job = await jobs.get_job(session, projectId, jobId)
    recipe, run_secrets = await service.prepare_run(
        session, job, jobs.opened_body(box, job), overrides
    )
    run = await service.start_run(session, box, job, recipe, run_secrets)
    wake.set()
    return Envelope(data=StartedRun(id=run.id, run_name=run.run_name))


@router.get("")
async def list_job_runs(
    projectId: ProjectId, jobId: JobId, session: SessionDep, page: PageDep, _: RunsRead
) -> ListEnvelope[RunList]:
    job = await jobs.get_job(session, projectId, jobId)
    result = await service.list_runs(session, projectId, job.id, page)
    runs = [service.run_response(run) for run in result.items]
    return ListEnvelope(data=RunList(runs=runs), pagination=pagination_of(result))


@router.get("/{runId}")
async def get_job_run(
    projectId: ProjectId, jobId: JobId, runId: RunId, session: SessionDep, _: RunsRead
) -> Envelope[RunResponse]:
    job = await jobs.get_job(session, projectId, jobId)
    return Envelope(
        data=service.run_response(await service.get_run(session, projectId, job.id, runId))
    )


@router.delete("/{runId}")
async def abort_job_run(
    projectId: ProjectId,
    jobId: JobId,
    runId: RunId,
    session: SessionDep,
    wake: WorkerWakeDep,
    _: RunsAbort,
) -> Envelope[RunResponse]:
    """Stop the run: SIGTERM, then SIGKILL after its grace period; it ends FAILED."""
    job = await jobs.get_job(session, projectId, jobId)
    run = await service.abort_run(session, projectId, job.id, runId)
    wake.set()
    return Envelope(data=service.run_response(run))
