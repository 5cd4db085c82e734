"""The builds side of a worker: claim queued builds up to DOCKYARD_MAX_CONCURRENT_BUILDS,
and conclude builds whose worker died: finished if the image reached the registry, started
again while attempts remain, else CRASHED."""

from __future__ import annotations

import asyncio
import shutil
from typing import Any

import structlog
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncSession

from dockyard.builds import repository
from dockyard.builds.images import build_dir, built_image, image_tag
from dockyard.builds.models import Build
from dockyard.builds.recipe import build_recipe
from dockyard.builds.service import BuildTarget
from dockyard.builds.status import BuildStatus, move_build
from dockyard.config import Settings
from dockyard.db import leases
from dockyard.db.session import Database
from dockyard.db.space import is_disk_full
from dockyard.engine.base import RegistryClient
from dockyard.errors import DockyardError
from dockyard.metrics.instruments import BUILD_PHASE_SECONDS
from dockyard.runs import service as runs
from dockyard.secrets.crypto import SecretBox
from dockyard.worker.build_pipeline import BuildEngines, BuildRunner, ImageLocks
from dockyard.worker.dispatch import Lease, LeasedDispatcher

log = structlog.get_logger(__name__)

IN_FLIGHT = [
    s.value
    for s in (BuildStatus.PENDING, BuildStatus.CLONING, BuildStatus.BUILDING, BuildStatus.UPLOADING)
]


class BuildDispatcher(LeasedDispatcher[Build, BuildRunner]):
    kind = "build"
    model = Build
    phases = BUILD_PHASE_SECONDS

    def __init__(
        self,
        settings: Settings,
        database: Database,
        box: SecretBox,
        engines: BuildEngines,
        registry: RegistryClient,
        worker_id: str,
        wake: asyncio.Event,
    ) -> None:
        super().__init__(settings, database, worker_id, wake)
        self.box = box
        self.engines = engines
        self.registry = registry
        self.image_locks = ImageLocks()

    @property
    def limit(self) -> int:
        return self.settings.max_concurrent_builds

    def id_of(self, item: Build) -> str:
        return item.id

    def runner_for(self, item: Build) -> BuildRunner:
        return BuildRunner(
            self.settings,
            self.database,
            self.box,
            self.engines,
            item,
            self.image_locks,
            self._start_runs,
        )

    async def _start_runs(self, build: Build) -> None:
        """runOnSourceChange: the jobs whose image this build is run now. A job that cannot
        run (an unknown plan) does not fail the build."""
        try:
            async with self.database.sessions() as session:
                started = await runs.start_runs_for_new_image(session, self.box, build)
        except DockyardError as exc:
            log.warning("run on source change failed", build=build.id, error=exc.message)
            return
        except DBAPIError as exc:
            if not is_disk_full(exc):
                raise
            # Not tried again: the runs of the jobs before the one refused are stored.
            log.warning("run on source change not stored: disk full", build=build.id)
            return
        if started:
            log.info("runs started by a new image", build=build.id, runs=[r.id for r in started])
            self.wake.set()

    @property
    def offered(self) -> set[str]:
        """The build engines whose builds this worker claims: its Dockerfile engines, and
        buildpack builds, which every worker fails with how to fix them."""
        return {*self.engines.images, "buildpack"}

    async def claim(self, session: AsyncSession, count: int) -> list[Build]:
        claimed = []
        queued = BuildStatus.QUEUED.value
        await self._explain_waits(session)
        engine_offered = repository.built_with(self.offered)
        for build in await leases.oldest_in(session, Build, queued, count, engine_offered):
            queued_at = build.updated_at
            if await move_build(
                session,
                build,
                BuildStatus.PENDING,
                **self.lease(),
                attempts=build.attempts + 1,
                message=None,
            ):
                self.count_claim(session, queued_at)
                claimed.append(build)
        return claimed

    async def _explain_waits(self, session: AsyncSession) -> None:
        """A queued build of an engine this worker does not offer says why it waits (its
        message, until a worker that offers it claims it); one such worker may never come."""
        offered = sorted(self.engines.images)
        for build in await repository.waiting_unexplained(
            session, BuildStatus.QUEUED.value, self.offered
        ):
            engine = build_recipe(build).engine
            reason = (
                f"Waiting for a worker that offers the {engine} build engine "
                f"(DOCKYARD_BUILD_ENGINES); worker {self.worker_id} offers {', '.join(offered)}"
            )
            await repository.set_fields(session, build, {"message": reason})
            log.warning("build waits for an engine not offered here", build=build.id, engine=engine)

    async def hand_back(self, session: AsyncSession, runners: list[BuildRunner]) -> None:
        """Back to the queue; the interrupted start does not count as an attempt."""
        for build in (runner.build for runner in runners):
            if build.status in IN_FLIGHT:
                await move_build(
                    session,
                    build,
                    BuildStatus.QUEUED,
                    claimed_by=None,
                    heartbeat_at=None,
                    attempts=max(build.attempts - 1, 0),
                )

    def lease_of(self, item: Build) -> Lease:
        return item.claimed_by, item.heartbeat_at

    async def held_elsewhere(self, session: AsyncSession) -> list[Build]:
        return await leases.held_elsewhere(session, Build, IN_FLIGHT, self.worker_id)

    async def recover(self, session: AsyncSession, abandoned: list[Build]) -> list[Build]:
        """A build is never resumed mid-way: it is concluded or queued to start over."""
        for build in abandoned:
            status, changes = await self._verdict(build)
            if await move_build(session, build, status, **changes):
                log.warning("abandoned build recovered", build=build.id, status=status.value)
                await asyncio.to_thread(shutil.rmtree, build_dir(self.settings, build.id), True)
        return []

    async def _verdict(self, build: Build) -> tuple[BuildStatus, dict[str, Any]]:
        release: dict[str, Any] = {"claimed_by": None, "heartbeat_at": None}
        if build.abort_requested:
            return BuildStatus.ABORTED, {**release, "message": "Aborted by request"}
        if build.status == BuildStatus.UPLOADING and (digest := await self._pushed(build)):
            image = {"image_uri": built_image(self.settings, build), "image_digest": digest}
            engine = self.engines.images.get(build_recipe(build).engine)
            if engine is not None:
                await engine.pusher.untag(image["image_uri"])
            return BuildStatus.SUCCESS, {**release, **image}
        if build.attempts < self.settings.build_attempts:
            return BuildStatus.QUEUED, release
        return BuildStatus.CRASHED, {
            **release,
            "message": f"The worker driving this build stopped during {build.status} "
            f"({build.attempts} attempts)",
        }

    async def _pushed(self, build: Build) -> str | None:
        """The digest the build's tag names in the registry, if its push got that far."""
        target = BuildTarget(build.project_id, build.target_kind, build.target_id)
        return await self.registry.digest(target.image_repository, image_tag(build))
