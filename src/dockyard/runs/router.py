"""Runs of jobs under /v1/projects/{projectId}/jobs/{jobId}/runs: start, list (newest first),
get, abort (DELETE)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path

from dockyard.api.deps import SecretBoxDep, SessionDep, SettingsDep, WorkerWakeDep
from dockyard.api.pagination import PageDep, pagination_of
from dockyard.api.wire import Envelope, ListEnvelope
from dockyard.auth.permissions import Permission
from dockyard.auth.service import Principal
from dockyard.jobs import service as jobs
from dockyard.runs import service
from dockyard.runs.auth import RunsAbort, RunsRead, RunsStart
from dockyard.runs.schemas import RunList, RunResponse, StartedRun, StartJobRunRequest

# What a token holding only "Run Job" may set on a run: its own variables and its plan. The
# image, entrypoint, command, files and mounts decide what code runs next to the job's
# secrets, so they need the permission that could change the job itself.
RUN_ONLY_OVERRIDES = frozenset({"runtime_environment", "billing"})
# Variables that make a shell, the dynamic loader or a language runtime load or run code
# named in their value (bash expands BASH_ENV and PS4 with command substitution): setting
# one would change what the job executes, like overriding its command.
CODE_LOADING_VARIABLES = frozenset(
    {
        "BASH_ENV",
        "BASHOPTS",
        "ENV",
        "PS4",
        "PROMPT_COMMAND",
        "SHELLOPTS",
        "LD_PRELOAD",
        "LD_LIBRARY_PATH",
        "LD_AUDIT",
        "NODE_OPTIONS",
        "NODE_PATH",
        "PERL5OPT",
        "PERL5LIB",
        "PERLLIB",
        "PYTHONPATH",
        "PYTHONHOME",
        "PYTHONSTARTUP",
        "PYTHONWARNINGS",
        "RUBYOPT",
        "RUBYLIB",
        "JAVA_TOOL_OPTIONS",
        "JDK_JAVA_OPTIONS",
        "_JAVA_OPTIONS",
    }
)


def loads_code(name: str) -> bool:
    return name.upper() in CODE_LOADING_VARIABLES


def require_override_permission(principal: Principal, overrides: StartJobRunRequest) -> None:
    given = {name for name, value in overrides if value is not None}
    environment = overrides.runtime_environment or {}
    if given - RUN_ONLY_OVERRIDES or any(map(loads_code, environment)):
        principal.require(Permission.JOBS_UPDATE)


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
    require_override_permission(principal, body)
    jobs.refuse_own_registry_image(settings.registry, body.deployment)
    job = await jobs.get_job(session, projectId, jobId)
    recipe, run_secrets = await service.prepare_run(session, job, jobs.opened_spec(box, job), body)
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
