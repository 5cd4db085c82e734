"""Job rules: the stored spec is always a valid create body of the job's type (manual or
cron); a cron job's schedule and suspension; a job's git source. What jobs share with build
services (ids, secrets, create, put, patch) is in targets/service.py."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any, Literal, TypeVar

from sqlalchemy.ext.asyncio import AsyncSession

from dockyard.auth.permissions import Permission
from dockyard.db.base import utcnow
from dockyard.errors import Conflict
from dockyard.jobs import repository
from dockyard.jobs.models import Job
from dockyard.jobs.repository import spec_of as spec_of
from dockyard.jobs.schemas import (
    DEPLOYMENT_SOURCES,
    ConcurrencyPolicy,
    CronJobPatch,
    CronJobResponse,
    CronJobSettings,
    CronJobSpec,
    CronSettings,
    DeploymentOptions,
    ExternalDeployment,
    JobSettings,
    JobSpec,
    JobSummary,
    JobType,
    ManualJobPatch,
    ManualJobResponse,
    ManualJobSpec,
    VcsDeployment,
)
from dockyard.secrets.credentials import refuse_own_registry
from dockyard.secrets.crypto import SecretBox
from dockyard.secrets.fields import SecretFields
from dockyard.targets.schemas import BuildStatusOfTarget, dockerfile_location
from dockyard.targets.service import Catalog, Stored
from dockyard.vcs.schemas import BuildSourceUpdate, VcsBranchSource, VcsData
from dockyard.wire.bodies import changes_of, merged, validated, wire_body

# The fields whose values are secret: sealed at rest, shown only to secrets readers.
SECRET_PATHS: tuple[tuple[str, ...], ...] = (
    ("buildArguments",),
    ("buildFiles",),
    ("dockerSecretMounts",),
    ("runtimeEnvironment",),
    ("runtimeFiles",),
    ("buildConfiguration", "dockerCredentials"),
)
# Objects a PATCH merges into (field by field); every other field it names is replaced whole.
MERGED_OBJECTS = frozenset({"billing", "infrastructure", "buildConfiguration"})
# A cron job's concurrencyPolicy as the official read type names it (`settings.cron`).
POLICY_NAMES: dict[ConcurrencyPolicy, Literal["Allow", "Forbid", "Replace"]] = {
    "allow": "Allow",
    "forbid": "Forbid",
    "replace": "Replace",
}
Response = TypeVar("Response", ManualJobResponse, CronJobResponse)
StoredJob = Stored[Job, JobSpec]

SECRETS = SecretFields(kind="job", paths=SECRET_PATHS, read_permission=Permission.JOB_SECRETS_READ)


def _schedule_since(job: Job, spec: JobSpec) -> datetime | None:
    """When the job's schedule starts to count: unchanged while the schedule stays the same
    (so a resumed job catches up on what it missed, as a Kubernetes CronJob does), now for a
    new or changed one."""
    if not isinstance(spec, CronJobSpec):
        return None
    stored = spec_of(job) if job.job_type == "cron" else None
    if isinstance(stored, CronJobSpec) and stored.schedule == spec.schedule:
        return job.schedule_since
    return utcnow()


def _vcs_of(spec: JobSpec) -> VcsBranchSource | None:
    deployment = spec.deployment
    return deployment.vcs if isinstance(deployment, VcsDeployment) else None


def _credentials_of(spec: JobSpec) -> list[str]:
    """The registry credentials ids the job names: for its builds' pulls and its image's."""
    configuration = spec.build_configuration
    ids = list(configuration.docker_credentials or []) if configuration else []
    deployment = spec.deployment
    if isinstance(deployment, ExternalDeployment) and deployment.external.credentials:
        ids.append(deployment.external.credentials)
    return ids


def _prepare(job: Job, spec: JobSpec) -> None:
    job.schedule_since = _schedule_since(job, spec)
    job.job_type = spec.kind


JOBS: Catalog[Job, JobSpec] = Catalog(
    table=repository.TABLE,
    noun="job",
    id_field="jobId",
    secrets=SECRETS,
    new_row=lambda project_id, job_id, uid: Job(project_id=project_id, id=job_id, uid=uid),
    name_of=lambda spec: spec.name,
    prepare=_prepare,
    vcs_of=lambda spec: _vcs_of(spec),
    vcs_path="deployment.vcs",
    credentials_of=_credentials_of,
)
get_job = JOBS.get
list_jobs = JOBS.page
all_of_project = JOBS.all_of_project
opened_body = JOBS.opened_body
opened_spec = JOBS.opened_spec
create_job = JOBS.create
put_job = JOBS.put
remove_job = JOBS.remove


# ---- reads ---------------------------------------------------------------------------------


async def cron_jobs(session: AsyncSession) -> Sequence[Job]:
    """Every cron job of every project."""
    return await repository.of_type(session, "cron")


def cron_spec_of(job: Job) -> CronJobSpec:
    """The stored spec of a cron job (409 for a manual job)."""
    spec = spec_of(job)
    if not isinstance(spec, CronJobSpec):
        raise Conflict(
            f"Job {job.id!r} is a {job.job_type} job: only a cron job has a schedule",
            {"jobType": job.job_type},
        )
    return spec


def summary(job: Job) -> JobSummary:
    spec = repository.listed_of(job)
    return JobSummary(
        id=job.id,
        uid=job.uid,
        name=job.name,
        description=spec.description,
        job_type=job.job_type,
        project_id=job.project_id,
        disabled_ci=bool(spec.disabled_ci),
        tags=spec.tags or [],
        suspended=job.job_type == "cron" and bool(spec.suspended),
    )


async def list_job_summaries(session: AsyncSession, project_id: str) -> list[JobSummary]:
    return [summary(job) for job in await all_of_project(session, project_id)]


def vcs_data(spec: ManualJobSpec) -> VcsData | None:
    """`vcsData` of a job deploying from git: its source and Dockerfile location."""
    if not isinstance(spec.deployment, VcsDeployment):
        return None
    return VcsData.of(spec.deployment.vcs, *dockerfile_location(spec.build_settings))


def git_source(spec: ManualJobSpec) -> VcsBranchSource:
    """The git source of a job: its `deployment.vcs`; a job deploying an image has none."""
    if not isinstance(spec.deployment, VcsDeployment):
        raise Conflict(
            "This job has no git build source (deployment.vcs); set one with POST "
            ".../build-source before starting a build",
            {"deployment": "no vcs"},
        )
    return spec.deployment.vcs


def job_settings(spec: ManualJobSpec) -> JobSettings:
    """`settings` of a job's reply; a cron job's name its schedule as the read type does."""
    if isinstance(spec, CronJobSpec):
        return CronJobSettings(
            active_deadline_seconds=spec.active_deadline_seconds,
            backoff_limit=spec.backoff_limit,
            cron=CronSettings(
                schedule=spec.schedule, concurrency_policy=POLICY_NAMES[spec.concurrency_policy]
            ),
        )
    return JobSettings(
        active_deadline_seconds=spec.active_deadline_seconds, backoff_limit=spec.backoff_limit
    )


def job_response(
    job: Job,
    body: dict[str, Any],
    team_id: str,
    status: BuildStatusOfTarget,
    shape: type[Response],
) -> Response:
    """The job's reply in `shape`, the response type of its job type, showing `body` (the
    stored spec, or the whole one with secrets)."""
    spec = spec_of(job)
    return shape.model_validate(
        body
        | JOBS.reply_fields(job, team_id, status)
        | {"settings": job_settings(spec), "vcsData": vcs_data(spec)}
    )


# ---- writes --------------------------------------------------------------------------------


def refuse_own_registry_image(registry: str, deployment: DeploymentOptions | None) -> None:
    """400 naming `deployment.external.imagePath` when a job's or a run's request body gives an
    external image in dockyard's own registry at `registry` (any project's builds are there)."""
    if isinstance(deployment, ExternalDeployment):
        refuse_own_registry(deployment.external.image_path, registry)


def _require_type(job: Job, job_type: JobType) -> None:
    if job.job_type != job_type:
        raise Conflict(
            f"Job {job.id!r} is a {job.job_type} job: patch it at /jobs/{job.job_type}/{job.id}",
            {"jobType": job.job_type},
        )


async def patch_job(
    session: AsyncSession,
    box: SecretBox,
    project_id: str,
    job_id: str,
    patch: ManualJobPatch,
    job_type: JobType | None = None,
) -> StoredJob:
    """Merge `patch` into the job (409 unless it is of `job_type`, when given) and re-validate
    the whole as its type's create body."""
    job = await get_job(session, project_id, job_id)
    if job_type is not None:
        _require_type(job, job_type)
    return await JOBS.patch(session, box, job, changes_of(patch), MERGED_OBJECTS)


async def suspend_job(
    session: AsyncSession, box: SecretBox, project_id: str, job_id: str, suspended: bool | None
) -> StoredJob:
    """Suspend or resume the cron job's schedule (None: the other of its current state);
    409 for a manual job."""
    job = await get_job(session, project_id, job_id)
    if job.job_type != "cron":
        raise Conflict(
            f"Job {job_id!r} is a {job.job_type} job: only a cron job has a schedule to suspend",
            {"jobType": job.job_type},
        )
    state = not cron_spec_of(job).suspended if suspended is None else suspended
    return await patch_job(session, box, project_id, job_id, CronJobPatch(suspended=state))


async def update_build_source(
    session: AsyncSession,
    box: SecretBox,
    project_id: str,
    job_id: str,
    source: BuildSourceUpdate,
) -> StoredJob:
    """The job deploys from the given git source (merged into its current one, if any)."""
    job = await get_job(session, project_id, job_id)
    spec = opened_spec(box, job)
    deployment = spec.deployment or DeploymentOptions()
    current = wire_body(deployment.vcs) if isinstance(deployment, VcsDeployment) else {}
    vcs = validated(VcsBranchSource, merged(current, changes_of(source)))
    options = {name: value for name, value in deployment if name not in DEPLOYMENT_SOURCES}
    moved = spec.model_copy(update={"deployment": VcsDeployment(**options, vcs=vcs)})
    return await JOBS.replace(session, box, job, validated(type(spec), wire_body(moved)))
