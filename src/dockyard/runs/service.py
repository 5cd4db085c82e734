"""Run rules: a run is written QUEUED with what it runs resolved (the image of a build, or an
external image) and answered at once; a worker drives it; abort is immediate for queued runs
and requested from the worker otherwise."""

from __future__ import annotations

import secrets
import string
from datetime import datetime

from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from dockyard.builds import repository as builds
from dockyard.builds.models import Build
from dockyard.builds.service import pinned_image
from dockyard.db.repository import Page, PageRequest
from dockyard.db.session import Database
from dockyard.errors import Conflict, NotFound
from dockyard.jobs import repository as jobs
from dockyard.jobs import service as jobs_service
from dockyard.jobs.models import Job
from dockyard.jobs.schemas import (
    ExternalDeployment,
    InternalDeployment,
    InternalImage,
    ManualJobSpec,
    VcsDeployment,
)
from dockyard.logs import repository as logs
from dockyard.logs.schemas import LogQuery
from dockyard.logs.tail import Follow, Followed, concluded_by
from dockyard.names import generated_id
from dockyard.runs import repository
from dockyard.runs.models import JobRun, RunTrigger
from dockyard.runs.recipe import RunImage, RunRecipe, RunSecrets, recipe_of
from dockyard.runs.schemas import RunResponse, StartJobRunRequest
from dockyard.runs.status import TERMINAL_RUN_STATUSES, RunStatus, abort, run_is_terminal
from dockyard.secrets.crypto import SecretBox
from dockyard.services import repository as services
from dockyard.usage import repository as usage

ID_ATTEMPTS = 5
RUN_NAME_ALPHABET = string.ascii_lowercase + string.digits
UNCONCLUDED = [status.value for status in RunStatus if status not in TERMINAL_RUN_STATUSES]


class AlreadyScheduled(Conflict):
    """The job's schedule has a run for this due time already (another worker started it)."""


def secrets_context(run_id: str) -> str:
    return f"run:{run_id}"


def open_secrets(box: SecretBox, run: JobRun) -> RunSecrets:
    return RunSecrets.model_validate(
        box.open_json(run.sealed_secrets, context=secrets_context(run.id))
    )


# ---- what runs -----------------------------------------------------------------------------


async def _build_image(
    session: AsyncSession, job: Job, internal: InternalImage
) -> tuple[Build | None, str]:
    """The newest successful build `internal` names: of the build service or job `id`
    (default: this job), on `branch`, of `buildSHA` ("latest": any), or `buildId`."""
    target = internal.id or job.id
    sha = internal.build_sha
    narrowing = {
        "branch": internal.branch,
        "sha": None if sha in (None, "latest") else sha,
        "build_id": internal.build_id,
    }
    if await services.get(session, job.project_id, target) is not None:
        kind = "service"
    elif target == job.id or await _job_exists(session, job.project_id, target):
        kind = "job"
    else:
        raise NotFound(
            f"deployment.internal.id {target!r} is no job or build service of this project",
            {"deployment.internal.id": target},
        )
    build = await builds.latest_successful(session, job.project_id, kind, target, **narrowing)
    return build, f"{kind} {target!r}"


async def _job_exists(session: AsyncSession, project_id: str, job_id: str) -> bool:
    return await jobs.get(session, project_id, job_id) is not None


async def image_of(
    session: AsyncSession, job: Job, spec: ManualJobSpec, overrides: StartJobRunRequest
) -> RunImage:
    """The image the run starts: the request's deployment source if it names one, else the
    job's; a build's by the digest it pushed. 409 when there is nothing to run yet."""
    deployment = overrides.deployment
    if not isinstance(deployment, InternalDeployment | ExternalDeployment):
        deployment = spec.deployment
    if isinstance(deployment, ExternalDeployment):
        external = deployment.external
        return RunImage(
            reference=external.image_path, credentials=external.credentials, external=True
        )
    if isinstance(deployment, InternalDeployment | VcsDeployment):
        internal = deployment.internal if isinstance(deployment, InternalDeployment) else None
        build, what = await _build_image(session, job, internal or InternalImage())
        image = pinned_image(build) if build is not None else None
        if image is None:
            raise Conflict(
                f"There is no successful build of {what} to run yet: start a build first "
                f"(POST .../build) and wait for it to succeed",
                {"deployment": "no build"},
            )
        return RunImage(reference=image)
    raise Conflict(
        "This job has no image to run: give it a deployment (vcs, internal or external), "
        "or name one in the run request's deployment",
        {"deployment": "absent"},
    )


# ---- runs ----------------------------------------------------------------------------------


def _run_name(job_id: str) -> str:
    suffix = "".join(secrets.choice(RUN_NAME_ALPHABET) for _ in range(5))
    return f"{job_id}-{suffix}"


async def start_run(
    session: AsyncSession,
    box: SecretBox,
    job: Job,
    recipe: RunRecipe,
    run_secrets: RunSecrets,
    trigger: RunTrigger = RunTrigger.API,
    scheduled_at: datetime | None = None,
) -> JobRun:
    """Queue a run; one its schedule starts names the due time (AlreadyScheduled when that
    time has its run)."""
    # A rollback expires `job`: read what the retries need first.
    project_id, job_id = job.project_id, job.id
    for _ in range(ID_ATTEMPTS):
        run_id = generated_id()
        run = JobRun(
            id=run_id,
            run_name=_run_name(job_id),
            project_id=project_id,
            job_id=job_id,
            spec=recipe.model_dump(),
            sealed_secrets=box.seal_json(run_secrets.model_dump(), context=secrets_context(run_id)),
            status=RunStatus.QUEUED.value,
            backoff_limit=recipe.backoff_limit,
            trigger=trigger.value,
            scheduled_at=scheduled_at,
        )
        session.add(run)
        try:
            await session.commit()
        except IntegrityError:
            await session.rollback()
            if scheduled_at is not None and await repository.scheduled(
                session, project_id, job_id, scheduled_at
            ):
                raise AlreadyScheduled(
                    f"Job {job_id!r} has a run for {scheduled_at.isoformat()} already",
                    {"scheduledAt": scheduled_at.isoformat()},
                ) from None
            continue
        return run
    raise Conflict("could not find a free run id; try again")


async def prepare_run(
    session: AsyncSession,
    job: Job,
    spec: ManualJobSpec,
    overrides: StartJobRunRequest | None = None,
) -> tuple[RunRecipe, RunSecrets]:
    """The recipe of a run of `job` (its whole spec `spec`, secrets opened) with the request's
    `overrides`, if any."""
    given = overrides or StartJobRunRequest()
    return recipe_of(spec, given, await image_of(session, job, spec, given))


def run_response(run: JobRun) -> RunResponse:
    status = RunStatus(run.status)
    return RunResponse(
        id=run.id,
        run_name=run.run_name,
        status="RUNNING" if status is RunStatus.QUEUED else status.value,
        message=run.message,
        active=run.active,
        succeeded=run.succeeded,
        failed=run.failed,
        backoff_limit=run.backoff_limit,
        concluded=run_is_terminal(status),
        trigger=RunTrigger(run.trigger),
        scheduled_at=run.scheduled_at,
        created_at=run.created_at,
        started_at=run.started_at,
        concluded_at=run.concluded_at,
    )


async def list_runs(
    session: AsyncSession, project_id: str, job_id: str, page: PageRequest
) -> Page[JobRun]:
    return await repository.page_of_job(session, project_id, job_id, page)


async def get_run(session: AsyncSession, project_id: str, job_id: str, run_id: str) -> JobRun:
    run = await repository.get_of_job(session, project_id, job_id, run_id)
    if run is None:
        raise NotFound(f"Run {run_id!r} not found", {"runId": run_id})
    return run


async def abort_run(session: AsyncSession, project_id: str, job_id: str, run_id: str) -> JobRun:
    run = await get_run(session, project_id, job_id, run_id)
    await abort(session, run)
    await session.commit()
    return run


async def unconcluded_runs_of(session: AsyncSession, project_id: str, job_id: str) -> list[JobRun]:
    return await repository.of_job_in(session, project_id, job_id, UNCONCLUDED)


async def abort_all_but(session: AsyncSession, kept: JobRun) -> None:
    """Abort every unfinished run of `kept`'s job but `kept` (a cron job's Replace policy)."""
    for run in await unconcluded_runs_of(session, kept.project_id, kept.job_id):
        if run.pk != kept.pk:
            await abort(session, run)
    await session.commit()


async def last_scheduled_at(
    session: AsyncSession, project_id: str, job_id: str, not_after: datetime
) -> datetime | None:
    """The latest due time, at or before `not_after`, the job's schedule started a run for."""
    return await repository.last_scheduled_at(session, project_id, job_id, not_after)


async def has_concluded(session: AsyncSession, run_id: str) -> bool:
    """Whether the run has ended (a run that is gone has)."""
    run = await repository.get(session, run_id)
    return run is None or run_is_terminal(RunStatus(run.status))


def log_follower(database: Database, project_id: str, job_id: str) -> Follow:
    """What a live tail of a job's runs follows (`runId`: of one run, ending when it
    concludes)."""

    async def follow(session: AsyncSession, query: LogQuery) -> Followed:
        job = await jobs_service.get_job(session, project_id, job_id)
        concluded = concluded_by(database, has_concluded, query.run_id) if query.run_id else None
        owners = repository.log_owners(project_id, job.id, query.run_id)
        return Followed(("run", project_id, job.id, query.run_id), owners, concluded)

    return follow


async def forget_runs_of(session: AsyncSession, project_id: str, job_id: str) -> None:
    """Remove a job's runs, their lines and usage samples (the job is being deleted). A
    worker driving one of them stops its container, as its row is gone. The caller commits."""
    owners = repository.log_owners(project_id, job_id)
    await logs.delete_of_owners(session, owners)
    await usage.delete_of(session, owners)
    await repository.delete_of_job(session, project_id, job_id)


# ---- runOnSourceChange ---------------------------------------------------------------------

RUN_ON_NEW_IMAGE = ("always", "cd-promote")


def runs_on_image_of(spec: ManualJobSpec, job_id: str, build: Build) -> bool:
    """Whether a job wants a run when `build` succeeds: `runOnSourceChange` always
    (cd-promote: the same, as dockyard has no promotion step) and the build makes its image: a
    build of the job itself for a vcs job, of the named job or service (on the named branch, if
    any) for an internal one."""
    if spec.run_on_source_change not in RUN_ON_NEW_IMAGE:
        return False
    deployment = spec.deployment
    if isinstance(deployment, VcsDeployment):
        return build.target_kind == "job" and build.target_id == job_id
    if not isinstance(deployment, InternalDeployment):
        return False
    internal = deployment.internal
    if internal.build_id or internal.build_sha not in (None, "latest"):
        return False
    return (internal.id or job_id) == build.target_id and internal.branch in (None, build.branch)


async def start_runs_for_new_image(
    session: AsyncSession, box: SecretBox, build: Build
) -> list[JobRun]:
    """A run of every job of the build's project whose image this successful build is."""
    started = []
    for job in await jobs.all_of_project(session, build.project_id):
        if runs_on_image_of(jobs.spec_of(job), job.id, build):
            spec = jobs_service.opened_spec(box, job)
            recipe, run_secrets = await prepare_run(session, job, spec)
            started.append(
                await start_run(
                    session, box, job, recipe, run_secrets, trigger=RunTrigger.SOURCE_CHANGE
                )
            )
    return started
