"""The builds side of a worker: claim queued builds up to the concurrency limit, keep their
lease alive, pass on abort requests, and conclude builds whose worker died.

Claims and every status change are compare-and-set on the build row, so any number of
workers can share one database and a build is driven by one of them at a time.
"""

from __future__ import annotations

import asyncio
import shutil
from dataclasses import dataclass
from datetime import timedelta

import structlog

from dockyard.builds import repository
from dockyard.builds.models import Build
from dockyard.builds.service import BuildTarget
from dockyard.builds.tasks import (
    BuildEngines,
    BuildRunner,
    build_dir,
    built_image,
    image_tag,
)
from dockyard.config import Settings
from dockyard.db.base import utcnow
from dockyard.db.session import Database
from dockyard.engine.base import RegistryClient
from dockyard.secrets.crypto import SecretBox
from dockyard.worker.lifecycle import BuildStatus, move_build

log = structlog.get_logger(__name__)

IN_FLIGHT = [s.value for s in (BuildStatus.PENDING, BuildStatus.CLONING, BuildStatus.BUILDING)]
IN_FLIGHT_OR_UPLOADING = [*IN_FLIGHT, BuildStatus.UPLOADING.value]


@dataclass
class RunningBuild:
    runner: BuildRunner
    task: asyncio.Task[None]


class BuildDispatcher:
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
        self.settings = settings
        self.database = database
        self.box = box
        self.engines = engines
        self.registry = registry
        self.worker_id = worker_id
        self.wake = wake
        self.running: dict[str, RunningBuild] = {}

    async def tick(self) -> None:
        self._forget_finished()
        await self._claim()
        await self._renew_leases_and_abort()
        await self._recover_abandoned()

    async def shutdown(self) -> None:
        """Stop driving builds and put them back in the queue for the next worker; the
        interrupted start does not count as an attempt."""
        for running in self.running.values():
            running.task.cancel()
        await asyncio.gather(*(r.task for r in self.running.values()), return_exceptions=True)
        async with self.database.sessions() as session:
            for running in self.running.values():
                build = running.runner.build
                if build.status in IN_FLIGHT_OR_UPLOADING:
                    await move_build(
                        session,
                        build,
                        BuildStatus.QUEUED,
                        claimed_by=None,
                        heartbeat_at=None,
                        attempts=max(build.attempts - 1, 0),
                    )
            await session.commit()
        self.running.clear()

    def _forget_finished(self) -> None:
        for build_id in [i for i, r in self.running.items() if r.task.done()]:
            del self.running[build_id]

    async def _renew_leases_and_abort(self) -> None:
        if not self.running:
            return
        ids = list(self.running)
        async with self.database.sessions() as session:
            await repository.touch(session, ids, self.worker_id, utcnow())
            aborted = await repository.to_stop_among(session, ids)
            await session.commit()
        for build_id in aborted:
            running = self.running[build_id]
            if not running.runner.aborting:
                running.runner.aborting = True
                running.task.cancel()

    async def _claim(self) -> None:
        free = self.settings.max_concurrent_builds - len(self.running)
        if free <= 0:
            return
        async with self.database.sessions() as session:
            claimed = [
                build
                for build in await repository.queued(session, BuildStatus.QUEUED.value, free)
                if await move_build(
                    session,
                    build,
                    BuildStatus.PENDING,
                    claimed_by=self.worker_id,
                    heartbeat_at=utcnow(),
                    attempts=build.attempts + 1,
                )
            ]
            await session.commit()
        for build in claimed:
            self._start(build)

    def _start(self, build: Build) -> None:
        runner = BuildRunner(self.settings, self.database, self.box, self.engines, build)
        task = asyncio.create_task(runner.run(), name=f"build {build.id}")
        task.add_done_callback(lambda _: self.wake.set())
        self.running[build.id] = RunningBuild(runner, task)
        log.info("build claimed", build=build.id, attempt=build.attempts)

    async def _recover_abandoned(self) -> None:
        """Builds whose worker stopped renewing its lease: finished if the image reached the
        registry, started again while attempts remain, else CRASHED."""
        expired = utcnow() - timedelta(seconds=self.settings.worker_lease_seconds)
        async with self.database.sessions() as session:
            abandoned = [
                build
                for build in await repository.stale(session, IN_FLIGHT_OR_UPLOADING, expired)
                if build.id not in self.running
            ]
            for build in abandoned:
                status, changes = await self._verdict(build)
                if await move_build(session, build, status, **changes):
                    log.warning("abandoned build recovered", build=build.id, status=status.value)
                    await asyncio.to_thread(shutil.rmtree, build_dir(self.settings, build.id), True)
            await session.commit()

    async def _verdict(self, build: Build) -> tuple[BuildStatus, dict[str, object]]:
        release: dict[str, object] = {"claimed_by": None, "heartbeat_at": None}
        if build.abort_requested:
            return BuildStatus.ABORTED, {**release, "message": "Aborted by request"}
        if build.status == BuildStatus.UPLOADING and await self._pushed(build):
            return BuildStatus.SUCCESS, {**release, "image_uri": built_image(self.settings, build)}
        if build.attempts < self.settings.build_attempts:
            return BuildStatus.QUEUED, release
        return BuildStatus.CRASHED, {
            **release,
            "message": f"The worker driving this build stopped during {build.status} "
            f"({build.attempts} attempts)",
        }

    async def _pushed(self, build: Build) -> bool:
        target = BuildTarget(build.project_id, build.target_kind, build.target_id)
        return await self.registry.manifest_exists(target.image_repository, image_tag(build))
