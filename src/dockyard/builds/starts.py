"""Starting a build of a job or a build service from its current settings: what the API's
build requests, the dashboard and git webhooks all do."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from dockyard.builds import service
from dockyard.builds.models import Build, BuildTrigger
from dockyard.builds.recipe import job_git_source, recipe_of
from dockyard.builds.schemas import BuildOverrides
from dockyard.builds.service import BuildSource, BuildTarget
from dockyard.errors import Conflict
from dockyard.jobs import service as jobs
from dockyard.jobs.models import Job
from dockyard.secrets.crypto import SecretBox
from dockyard.services import service as services
from dockyard.services.models import Service


async def start_job_build(
    session: AsyncSession,
    box: SecretBox,
    job: Job,
    sha: str | None,
    overrides: BuildOverrides | None = None,
    trigger: BuildTrigger = BuildTrigger.API,
) -> Build:
    """A build of `sha` (None: the latest commit) of the job's branch."""
    spec = jobs.opened_body(box, job)
    vcs = job_git_source(spec)
    recipe, secrets = recipe_of(spec, vcs, overrides)
    source = BuildSource(branch=vcs["projectBranch"], sha=sha)
    target = BuildTarget(job.project_id, "job", job.id)
    return await service.start_build(session, box, target, source, recipe, secrets, trigger)


async def start_service_build(
    session: AsyncSession,
    box: SecretBox,
    found: Service,
    source: BuildSource,
    overrides: BuildOverrides | None = None,
    trigger: BuildTrigger = BuildTrigger.API,
) -> Build:
    """A build of a branch, a pull request or a bundle of the service's repository; the first
    one after DELETE .../build-cache runs without the cache."""
    spec = services.opened_body(box, found)
    vcs = None if source.bundle_url else spec.get("vcsData")
    if source.bundle_url is None and vcs is None:
        raise Conflict(
            "This service builds from bundles only (no vcsData): give a bundleUrl",
            {"vcsData": "absent"},
        )
    recipe, secrets = recipe_of(spec, vcs, overrides)
    if not services.cache_allowed_once(found):
        recipe = recipe.model_copy(update={"use_cache": False})
    target = BuildTarget(found.project_id, "service", found.id)
    return await service.start_build(session, box, target, source, recipe, secrets, trigger)
