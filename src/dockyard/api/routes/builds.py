"""Builds of jobs (/jobs/{jobId}/build) and build services (/services/{serviceId}/build):
start, list (newest first), get, abort (DELETE)."""

from __future__ import annotations

import asyncio
from typing import Annotated

from fastapi import APIRouter, Path

from dockyard.api.deps import SecretBoxDep, SessionDep, SettingsDep, WorkerWakeDep
from dockyard.api.pagination import PageDep, pagination_of
from dockyard.api.permissions import (
    JobBuildsDeploy,
    JobBuildsRead,
    ServiceBuildsDeploy,
    ServiceBuildsRead,
)
from dockyard.builds import service, starts
from dockyard.builds.models import Build
from dockyard.builds.schemas import (
    BuildList,
    BuildResponse,
    StartJobBuildRequest,
    StartServiceBuildRequest,
)
from dockyard.builds.service import BuildSource, BuildTarget
from dockyard.config import Settings
from dockyard.engine.fetches import RefusedTarget, check_fetchable
from dockyard.errors import Invalid
from dockyard.jobs import service as jobs
from dockyard.services import service as services
from dockyard.wire.models import Envelope, ListEnvelope

router = APIRouter(prefix="/projects/{projectId}", tags=["builds"])

ProjectId = Annotated[str, Path(max_length=64, description="ID of the project")]
JobId = Annotated[str, Path(max_length=64, description="ID of the job")]
ServiceId = Annotated[str, Path(max_length=64, description="ID of the service")]
BuildId = Annotated[str, Path(max_length=64, description="ID of the build")]


def _one(build: Build) -> Envelope[BuildResponse]:
    return Envelope(data=service.build_response(build))


async def _list(session: SessionDep, target: BuildTarget, page: PageDep) -> ListEnvelope[BuildList]:
    result = await service.list_builds(session, target, page)
    builds = [service.build_response(build) for build in result.items]
    return ListEnvelope(data=BuildList(builds=builds), pagination=pagination_of(result))


# ---- jobs ----------------------------------------------------------------------------------


@router.post("/jobs/{jobId}/build")
async def start_job_build(
    projectId: ProjectId,
    jobId: JobId,
    body: StartJobBuildRequest,
    session: SessionDep,
    box: SecretBoxDep,
    wake: WorkerWakeDep,
    _: JobBuildsDeploy,
) -> Envelope[BuildResponse]:
    """Build the given sha of the job's branch, or its latest commit."""
    job = await jobs.get_job(session, projectId, jobId)
    build = await starts.start_job_build(session, box, job, body.sha, body.overrides)
    wake.set()
    return _one(build)


@router.get("/jobs/{jobId}/build")
async def list_job_builds(
    projectId: ProjectId, jobId: JobId, session: SessionDep, page: PageDep, _: JobBuildsRead
) -> ListEnvelope[BuildList]:
    job = await jobs.get_job(session, projectId, jobId)
    return await _list(session, BuildTarget(projectId, "job", job.id), page)


@router.get("/jobs/{jobId}/build/{buildId}")
async def get_job_build(
    projectId: ProjectId, jobId: JobId, buildId: BuildId, session: SessionDep, _: JobBuildsRead
) -> Envelope[BuildResponse]:
    job = await jobs.get_job(session, projectId, jobId)
    return _one(await service.get_build(session, BuildTarget(projectId, "job", job.id), buildId))


@router.delete("/jobs/{jobId}/build/{buildId}")
async def abort_job_build(
    projectId: ProjectId,
    jobId: JobId,
    buildId: BuildId,
    session: SessionDep,
    wake: WorkerWakeDep,
    _: JobBuildsDeploy,
) -> Envelope[BuildResponse]:
    job = await jobs.get_job(session, projectId, jobId)
    build = await service.abort_build(session, BuildTarget(projectId, "job", job.id), buildId)
    wake.set()
    return _one(build)


# ---- build services ------------------------------------------------------------------------


async def _check_bundle_url(url: str, settings: Settings) -> None:
    """400 for a bundle on this machine or a private network (unless allowed); the worker
    checks again when it fetches."""
    try:
        await asyncio.to_thread(check_fetchable, url, settings.fetch_allow)
    except RefusedTarget as exc:
        raise Invalid("bundleUrl", exc.message) from None


@router.post("/services/{serviceId}/build")
async def start_service_build(
    projectId: ProjectId,
    serviceId: ServiceId,
    body: StartServiceBuildRequest,
    session: SessionDep,
    box: SecretBoxDep,
    settings: SettingsDep,
    wake: WorkerWakeDep,
    _: ServiceBuildsDeploy,
) -> Envelope[BuildResponse]:
    """Build a branch or pull request of the service's repository (its latest commit unless a
    sha is given), or a source bundle fetched from `bundleUrl`."""
    found = await services.get_service(session, projectId, serviceId)
    if body.bundle_url is not None:
        await _check_bundle_url(body.bundle_url, settings)
    source = BuildSource(
        branch=body.branch,
        sha=body.sha,
        pull_request_id=body.pull_request_id,
        bundle_url=body.bundle_url,
    )
    build = await starts.start_service_build(session, box, found, source, body.overrides)
    wake.set()
    return _one(build)


@router.get("/services/{serviceId}/build")
async def list_service_builds(
    projectId: ProjectId,
    serviceId: ServiceId,
    session: SessionDep,
    page: PageDep,
    _: ServiceBuildsRead,
) -> ListEnvelope[BuildList]:
    found = await services.get_service(session, projectId, serviceId)
    return await _list(session, BuildTarget(projectId, "service", found.id), page)


@router.get("/services/{serviceId}/build/{buildId}")
async def get_service_build(
    projectId: ProjectId,
    serviceId: ServiceId,
    buildId: BuildId,
    session: SessionDep,
    _: ServiceBuildsRead,
) -> Envelope[BuildResponse]:
    found = await services.get_service(session, projectId, serviceId)
    target = BuildTarget(projectId, "service", found.id)
    return _one(await service.get_build(session, target, buildId))


@router.delete("/services/{serviceId}/build/{buildId}")
async def abort_service_build(
    projectId: ProjectId,
    serviceId: ServiceId,
    buildId: BuildId,
    session: SessionDep,
    wake: WorkerWakeDep,
    _: ServiceBuildsDeploy,
) -> Envelope[BuildResponse]:
    found = await services.get_service(session, projectId, serviceId)
    target = BuildTarget(projectId, "service", found.id)
    build = await service.abort_build(session, target, buildId)
    wake.set()
    return _one(build)


@router.delete("/services/{serviceId}/build-cache")
async def drop_service_build_cache(
    projectId: ProjectId, serviceId: ServiceId, session: SessionDep, _: ServiceBuildsDeploy
) -> Envelope[dict[str, str]]:
    """The service's next build runs without BuildKit's cache, rebuilding every step."""
    await services.drop_build_cache(session, projectId, serviceId)
    return Envelope(data={})
