"""Jobs under /v1/projects/{projectId}: create, PUT by name and PATCH of manual and cron jobs,
list, get, delete, build source."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Path
from sqlalchemy.ext.asyncio import AsyncSession

from dockyard.api.deps import SecretBoxDep, SessionDep, SettingsDep, WorkerWakeDep
from dockyard.api.pagination import PageDep, pagination_of
from dockyard.api.permissions import JobsCreate, JobsDelete, JobsRead, JobsUpdate
from dockyard.auth.service import Principal
from dockyard.builds import service as builds
from dockyard.builds.service import BuildTarget
from dockyard.jobs import service
from dockyard.jobs.models import Job
from dockyard.jobs.schemas import (
    CronJobPatch,
    CronJobResponse,
    CronJobSpec,
    JobList,
    JobListItem,
    JobResponse,
    ManualJobPatch,
    ManualJobResponse,
    ManualJobSpec,
    SuspendJob,
)
from dockyard.jobs.service import Response, StoredJob
from dockyard.projects.schemas import app_id
from dockyard.targets.schemas import BuildStatusOfTarget
from dockyard.teardown import service as teardown
from dockyard.vcs.schemas import BuildSourceUpdate
from dockyard.wire.models import Envelope, ListEnvelope

router = APIRouter(prefix="/projects/{projectId}/jobs", tags=["jobs"])

ProjectId = Annotated[str, Path(max_length=64, description="ID of the project")]
JobId = Annotated[str, Path(max_length=64, description="ID of the job")]
_WITH_STATUS = builds.TargetWithStatus(service.JOBS, "job")


def _target(job: Job) -> BuildTarget:
    return BuildTarget(job.project_id, "job", job.id)


async def _shown(
    session: AsyncSession, job: Job, body: dict[str, Any], team_id: str, shape: type[Response]
) -> Response:
    """The job as the API shows it in `shape`, `status.build` from its latest build."""
    status = await builds.status_of(session, _target(job))
    return service.job_response(job, body, team_id, status, shape)


async def _answer(
    session: AsyncSession,
    principal: Principal,
    stored: StoredJob,
    team_id: str,
    shape: type[Response],
) -> Envelope[Response]:
    body = service.JOBS.shown(principal, stored)
    return Envelope(data=await _shown(session, stored.row, body, team_id, shape))


def _created(
    principal: Principal, stored: StoredJob, team_id: str, shape: type[Response]
) -> Envelope[Response]:
    # A job created this instant has no builds: no need to look for its latest.
    body = service.JOBS.shown(principal, stored)
    return Envelope(
        data=service.job_response(stored.row, body, team_id, BuildStatusOfTarget(), shape)
    )


@router.post("/manual")
async def create_manual_job(
    projectId: ProjectId,
    body: ManualJobSpec,
    session: SessionDep,
    box: SecretBoxDep,
    settings: SettingsDep,
    principal: JobsCreate,
) -> Envelope[ManualJobResponse]:
    """Create a manual job; 409 if a job with that name's id exists."""
    service.refuse_own_registry_image(settings.registry, body.deployment)
    stored = await service.create_job(session, box, projectId, body)
    return _created(principal, stored, settings.team_id, ManualJobResponse)


@router.put("/manual")
async def put_manual_job(
    projectId: ProjectId,
    body: ManualJobSpec,
    session: SessionDep,
    box: SecretBoxDep,
    settings: SettingsDep,
    principal: JobsCreate,
) -> Envelope[ManualJobResponse]:
    """Create the job, or replace the whole spec of the job with that name."""
    service.refuse_own_registry_image(settings.registry, body.deployment)
    stored = await service.put_job(session, box, projectId, body)
    return await _answer(session, principal, stored, settings.team_id, ManualJobResponse)


@router.patch("/manual/{jobId}")
async def patch_manual_job(
    projectId: ProjectId,
    jobId: JobId,
    body: ManualJobPatch,
    session: SessionDep,
    box: SecretBoxDep,
    settings: SettingsDep,
    principal: JobsUpdate,
) -> Envelope[ManualJobResponse]:
    """Merge the given fields into the job and re-validate the whole; 409 for a cron job."""
    service.refuse_own_registry_image(settings.registry, body.deployment)
    stored = await service.patch_job(session, box, projectId, jobId, body, "manual")
    return await _answer(session, principal, stored, settings.team_id, ManualJobResponse)


@router.post("/cron")
async def create_cron_job(
    projectId: ProjectId,
    body: CronJobSpec,
    session: SessionDep,
    box: SecretBoxDep,
    settings: SettingsDep,
    principal: JobsCreate,
) -> Envelope[CronJobResponse]:
    """Create a cron job; 409 if a job with that name's id exists."""
    service.refuse_own_registry_image(settings.registry, body.deployment)
    stored = await service.create_job(session, box, projectId, body)
    return _created(principal, stored, settings.team_id, CronJobResponse)


@router.put("/cron")
async def put_cron_job(
    projectId: ProjectId,
    body: CronJobSpec,
    session: SessionDep,
    box: SecretBoxDep,
    settings: SettingsDep,
    principal: JobsCreate,
) -> Envelope[CronJobResponse]:
    """Create the cron job, or replace the whole spec of the job with that name."""
    service.refuse_own_registry_image(settings.registry, body.deployment)
    stored = await service.put_job(session, box, projectId, body)
    return await _answer(session, principal, stored, settings.team_id, CronJobResponse)


@router.patch("/cron/{jobId}")
async def patch_cron_job(
    projectId: ProjectId,
    jobId: JobId,
    body: CronJobPatch,
    session: SessionDep,
    box: SecretBoxDep,
    settings: SettingsDep,
    principal: JobsUpdate,
) -> Envelope[CronJobResponse]:
    """Merge the given fields (`suspended` too) into the cron job and re-validate the whole;
    409 for a manual job."""
    service.refuse_own_registry_image(settings.registry, body.deployment)
    stored = await service.patch_job(session, box, projectId, jobId, body, "cron")
    return await _answer(session, principal, stored, settings.team_id, CronJobResponse)


@router.post("/{jobId}/suspend")
async def suspend_job(
    projectId: ProjectId,
    jobId: JobId,
    body: SuspendJob,
    session: SessionDep,
    box: SecretBoxDep,
    _: JobsUpdate,
) -> Envelope[dict[str, Any]]:
    """Suspend (`suspended: true`) or resume the schedule of a cron job; without `suspended`
    it toggles. 409 for a manual job."""
    await service.suspend_job(session, box, projectId, jobId, body.suspended)
    return Envelope(data={})


@router.get("")
async def list_jobs(
    projectId: ProjectId, session: SessionDep, settings: SettingsDep, page: PageDep, _: JobsRead
) -> ListEnvelope[JobList]:
    result = await service.list_jobs(session, projectId, page)
    jobs = [
        JobListItem(
            **service.summary(job).model_dump(),
            app_id=app_id(settings.team_id, projectId, job.id),
        )
        for job in result.items
    ]
    return ListEnvelope(data=JobList(jobs=jobs), pagination=pagination_of(result))


@router.get("/{jobId}")
async def get_job(
    projectId: ProjectId, jobId: JobId, session: SessionDep, settings: SettingsDep, _: JobsRead
) -> Envelope[JobResponse]:
    """The job, without the values of its secret fields."""
    job, status = await _WITH_STATUS.get(session, projectId, jobId)
    shown: JobResponse = (
        service.job_response(job, job.spec, settings.team_id, status, CronJobResponse)
        if job.job_type == "cron"
        else service.job_response(job, job.spec, settings.team_id, status, ManualJobResponse)
    )
    return Envelope(data=shown)


@router.delete("/{jobId}")
async def delete_job(
    projectId: ProjectId, jobId: JobId, session: SessionDep, wake: WorkerWakeDep, _: JobsDelete
) -> Envelope[dict[str, str]]:
    """Delete the job with its builds, runs, logs and CI events; the worker stops those
    still running."""
    await teardown.delete_job(session, wake, projectId, jobId)
    return Envelope(data={})


@router.post("/{jobId}/build-source")
async def update_job_build_source(
    projectId: ProjectId,
    jobId: JobId,
    body: BuildSourceUpdate,
    session: SessionDep,
    box: SecretBoxDep,
    _: JobsUpdate,
) -> Envelope[dict[str, str]]:
    """Point the job at a git source (merged into its current one)."""
    await service.update_build_source(session, box, projectId, jobId, body)
    return Envelope(data={})
