"""Build rules: a build is written QUEUED with its recipe and answered at once; a worker
drives it; abort is immediate for queued builds and requested from the worker otherwise."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Generic

from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from dockyard.builds import repository
from dockyard.builds.models import Build, BuildTrigger
from dockyard.builds.recipe import BuildRecipe, BuildSecrets, build_recipe
from dockyard.builds.schemas import BuildRegistry, BuildResponse
from dockyard.builds.status import BuildStatus, abort, is_terminal
from dockyard.db.repository import Page, PageRequest
from dockyard.db.session import Database
from dockyard.engine.registry import digest_reference
from dockyard.engine.urls import redact_url
from dockyard.errors import Conflict, NotFound
from dockyard.logs import repository as logs
from dockyard.logs.schemas import LogQuery
from dockyard.logs.tail import Follow, Followed, concluded_by
from dockyard.names import generated_id
from dockyard.secrets.crypto import SecretBox
from dockyard.targets.repository import Row, Spec
from dockyard.targets.schemas import BuildStatusOfTarget, LatestBuild
from dockyard.targets.service import Catalog
from dockyard.usage import repository as usage

ID_ATTEMPTS = 5


@dataclass(frozen=True)
class BuildTarget:
    """What a build builds: a job or a build service of a project."""

    project_id: str
    kind: str  # "job" | "service"
    id: str

    @property
    def image_repository(self) -> str:
        return f"{self.project_id}/{self.id}"


@dataclass(frozen=True)
class BuildSource:
    branch: str | None = None
    sha: str | None = None
    pull_request_id: int | None = None
    bundle_url: str | None = None


def secrets_context(build_id: str) -> str:
    return f"build:{build_id}"


def open_secrets(box: SecretBox, build: Build) -> BuildSecrets:
    if build.sealed_secrets is None:
        return BuildSecrets()
    return BuildSecrets.model_validate(
        box.open_json(build.sealed_secrets, context=secrets_context(build.id))
    )


async def start_build(
    session: AsyncSession,
    box: SecretBox,
    target: BuildTarget,
    source: BuildSource,
    recipe: BuildRecipe,
    secrets: BuildSecrets,
    trigger: BuildTrigger,
) -> Build:
    """Queue a build; a worker picks it up. Two builds of one sha are two builds. A bundle's
    URL is sealed with the secret inputs; the recipe keeps it redacted, for people."""
    if source.bundle_url is not None:
        recipe = recipe.model_copy(update={"bundle": redact_url(source.bundle_url)})
        secrets = secrets.model_copy(update={"bundle_url": source.bundle_url})
    for _ in range(ID_ATTEMPTS):
        build_id = generated_id()
        build = Build(
            id=build_id,
            project_id=target.project_id,
            target_kind=target.kind,
            target_id=target.id,
            branch=source.branch,
            sha=source.sha.lower() if source.sha else None,
            pull_request_id=source.pull_request_id,
            recipe=recipe.model_dump(),
            sealed_secrets=box.seal_json(secrets.model_dump(), context=secrets_context(build_id)),
            status=BuildStatus.QUEUED.value,
            trigger=trigger.value,
        )
        session.add(build)
        try:
            await session.commit()
        except IntegrityError:
            await session.rollback()
            continue
        return build
    raise Conflict("could not find a free build id; try again")


def pinned_image(build: Build) -> str | None:
    """What a run of the build's image pulls: the manifest its push recorded
    (`<repository>@<digest>`), which nobody can move as they could its tag. A build pushed
    before digests were recorded has only its tag."""
    if build.image_uri is None or build.image_digest is None:
        return build.image_uri
    return digest_reference(build.image_uri, build.image_digest)


def shown_bundle(build: Build) -> str | None:
    """A bundle build's URL as people may see it (redacted); None for a build of git."""
    return build_recipe(build).bundle


def build_response(build: Build) -> BuildResponse:
    status = BuildStatus(build.status)
    concluded = is_terminal(status)
    return BuildResponse(
        id=build.id,
        branch=build.branch,
        pull_request_id=build.pull_request_id,
        sha=build.sha,
        message=build.message,
        status=status,
        concluded=concluded,
        success=status is BuildStatus.SUCCESS if concluded else None,
        trigger=BuildTrigger(build.trigger),
        created_at=build.created_at,
        build_concluded_at=int(build.concluded_at.timestamp() * 1000)
        if build.concluded_at
        else None,
        registry=BuildRegistry(uri=build.image_uri, digest=build.image_digest)
        if build.image_uri
        else None,
    )


async def list_builds(session: AsyncSession, target: BuildTarget, page: PageRequest) -> Page[Build]:
    return await repository.page_of_target(session, target.project_id, target.kind, target.id, page)


async def get_build(session: AsyncSession, target: BuildTarget, build_id: str) -> Build:
    build = await repository.get_of_target(
        session, target.project_id, target.kind, target.id, build_id
    )
    if build is None:
        raise NotFound(f"Build {build_id!r} not found", {"buildId": build_id})
    return build


async def abort_build(session: AsyncSession, target: BuildTarget, build_id: str) -> Build:
    build = await get_build(session, target, build_id)
    await abort(session, build)
    await session.commit()
    return build


async def forget_builds_of(session: AsyncSession, target: BuildTarget) -> None:
    """Remove a target's builds, their lines and usage samples (its job or service is being
    deleted, and a new one of the same name starts afresh). A worker driving one of them
    stops it, as its row is gone. The caller commits."""
    owners = repository.log_owners(target.project_id, target.kind, target.id)
    await logs.delete_of_owners(session, owners)
    await usage.delete_of(session, owners)
    await repository.delete_of_target(session, target.project_id, target.kind, target.id)


async def status_of(session: AsyncSession, target: BuildTarget) -> BuildStatusOfTarget:
    statuses = await statuses_of(session, target.project_id, target.kind, [target.id])
    return statuses[target.id]


def _target_status(status: str | None, updated_at: datetime | None) -> BuildStatusOfTarget:
    """A target's `status` from its latest build's status and last change; empty without."""
    if status is None or updated_at is None:
        return BuildStatusOfTarget()
    return BuildStatusOfTarget(
        build=LatestBuild(status=BuildStatus(status), last_transition_time=updated_at)
    )


async def statuses_of(
    session: AsyncSession, project_id: str, kind: str, target_ids: Sequence[str]
) -> dict[str, BuildStatusOfTarget]:
    """`status` of each target: its latest build's status, or empty without builds."""
    latest = await repository.latest_of_targets(session, project_id, kind, target_ids)
    return {
        target_id: _target_status(build.status, build.updated_at)
        if (build := latest.get(target_id))
        else BuildStatusOfTarget()
        for target_id in target_ids
    }


class TargetWithStatus(Generic[Row, Spec]):
    """A target of `catalog` (of builds' `kind`) with its `status`, read in one statement;
    404 as the catalog's `get` answers it."""

    def __init__(self, catalog: Catalog[Row, Spec], kind: str) -> None:
        self._catalog = catalog
        self._rows = repository.WithLatestBuild(catalog.table.model, kind)

    async def get(
        self, session: AsyncSession, project_id: str, target_id: str
    ) -> tuple[Row, BuildStatusOfTarget]:
        found = await self._rows.get(session, project_id, target_id)
        if found is None:
            raise await self._catalog.missing(session, project_id, target_id)
        row, status, updated_at = found
        return row, _target_status(status, updated_at)


async def has_concluded(session: AsyncSession, build_id: str) -> bool:
    """Whether the build has ended (a build that is gone has)."""
    build = await repository.get(session, build_id)
    return build is None or is_terminal(BuildStatus(build.status))


def log_follower(
    database: Database, project_id: str, kind: str, find: Callable[[AsyncSession], Awaitable[str]]
) -> Follow:
    """What a live tail of the builds of a job or service follows (`kind`; `find` its id, or
    raises NotFound); `buildId`: of one build, ending when it concludes."""

    async def follow(session: AsyncSession, query: LogQuery) -> Followed:
        target_id = await find(session)
        concluded = (
            concluded_by(database, has_concluded, query.build_id) if query.build_id else None
        )
        owners = repository.log_owners(project_id, kind, target_id, query.build_id)
        return Followed(("build", project_id, kind, target_id, query.build_id), owners, concluded)

    return follow
