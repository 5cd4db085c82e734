"""The worker: claims queued work from the database and drives it. Each handler (builds,
runs) gets a tick every poll interval, or at once when the API in the same process
sets the wake event."""

from __future__ import annotations

import asyncio
import contextlib
import os
import shutil
import socket
import uuid
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Protocol

import structlog

from dockyard.builds.images import buildah_storages
from dockyard.config import (
    BuildNetwork,
    ContainerNetwork,
    ContainerRuntime,
    DockerfileEngine,
    RunEngine,
    Settings,
)
from dockyard.db.notify import listen
from dockyard.db.session import Database, is_sqlite, is_unavailable
from dockyard.db.space import is_disk_full
from dockyard.engine.buildah import BUILDAH, BuildahEngine
from dockyard.engine.buildkit import BuildkitBuilder
from dockyard.engine.containers import DockerEngine
from dockyard.engine.git import GitClient
from dockyard.engine.registry import DockerPusher, HttpRegistry, RegistryLog
from dockyard.engine.retries import RegistryRetries
from dockyard.engine.stepnets import StepNetworks
from dockyard.engine.swarm import SwarmEngine
from dockyard.errors import EngineUnavailable
from dockyard.logs.retention import LogJanitor
from dockyard.notifications.delivery import NotificationSender
from dockyard.secrets.credentials import local_registry_dir, registry_login, starts_local_registry
from dockyard.secrets.crypto import SecretBox
from dockyard.worker.build_pipeline import BuildEngines, ImageEngine
from dockyard.worker.builds import BuildDispatcher
from dockyard.worker.leftovers import LeftoverJanitor
from dockyard.worker.networks import NetworkJanitor
from dockyard.worker.runs import RunDispatcher
from dockyard.worker.schedules import CronScheduler

log = structlog.get_logger(__name__)

# A tick still going after this many leases is taken for hung (a slow one on a loaded machine
# may outlast one lease).
TICK_BOUND_LEASES = 4


class Handler(Protocol):
    async def tick(self) -> None:
        """Claim, renew and recover this handler's kind of work."""

    async def shutdown(self) -> None:
        """Stop and hand back the work in progress."""


def blocking_threads(settings: Settings) -> int:
    """Threads of the event loop's default executor, where the blocking Docker SDK calls
    run: each running job container holds two for its whole life (its log stream and its
    exit wait), and the default pool (CPUs + 4) would leave none for the other calls (start,
    stop, probes, removing build dirs) once a few runs are active on a small machine."""
    return 2 * settings.max_concurrent_runs + settings.max_concurrent_builds + 8


def new_worker_id() -> str:
    return f"{socket.gethostname()}-{os.getpid()}-{uuid.uuid4().hex[:6]}"


class Worker:
    def __init__(self, settings: Settings, handlers: list[Handler], wake: asyncio.Event) -> None:
        self.settings = settings
        self.handlers = handlers
        self.wake = wake
        # The handlers whose last tick failed for a full disk: warned once, not every tick.
        self.short_of_space: set[str] = set()

    async def run(self, stop: asyncio.Event) -> None:
        asyncio.get_running_loop().set_default_executor(
            ThreadPoolExecutor(blocking_threads(self.settings), thread_name_prefix="dockyard")
        )
        listener = self._listen_for_work()
        log.info("worker started", handlers=len(self.handlers))
        try:
            while not stop.is_set():
                self.wake.clear()
                for handler in self.handlers:
                    if stop.is_set():
                        break
                    await self._tick(handler)
                await self._sleep(stop)
        finally:
            if listener is not None:
                listener.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await listener
            await self._shutdown_handlers()
            log.info("worker stopped")

    async def _shutdown_handlers(self) -> None:
        """Hand the work back, every handler at once, within the grace period. Past it, the
        process may be killed any moment (a service manager's stop timeout): what is still
        pending is logged with where it waits, and left to lease expiry and recovery, as
        after a kill."""
        grace = self.settings.shutdown_grace_seconds
        shutting = asyncio.ensure_future(self._shutdown_each())
        try:
            await asyncio.wait_for(asyncio.shield(shutting), grace)
        except TimeoutError:
            log.error(
                "worker shutdown exceeded its grace period; the rest is left to recovery",
                grace_seconds=grace,
                pending=pending_stacks(),
            )
            shutting.cancel()

    async def _shutdown_each(self) -> None:
        await asyncio.gather(*(handler.shutdown() for handler in self.handlers))

    def _listen_for_work(self) -> asyncio.Task[None] | None:
        """On PostgreSQL, API processes NOTIFY new work (dockyard.db.notify)."""
        url = self.settings.resolved_database_url
        if is_sqlite(url):
            return None
        return asyncio.create_task(listen(url, self.wake), name="work notifications")

    async def _tick(self, handler: Handler) -> None:
        """A failed tick (database busy, registry down) is retried on the next one. A tick
        renews the worker's leases, so one that outlasts several leases has lost them long
        since: it is cut short then (a connection that hangs, its server or network gone
        silent, would hold the worker forever)."""
        name = type(handler).__name__
        bound = TICK_BOUND_LEASES * self.settings.worker_lease_seconds
        try:
            async with asyncio.timeout(bound):
                await handler.tick()
        except TimeoutError:
            log.error(
                "worker tick cut short: the database or an engine did not answer",
                handler=name,
                after_seconds=bound,
            )
            return
        except Exception as exc:
            if is_disk_full(exc):
                if name not in self.short_of_space:
                    log.warning("worker tick failed: the database's disk is full", handler=name)
                    self.short_of_space.add(name)
            elif is_unavailable(exc):
                log.warning("worker tick failed: database unavailable", handler=name)
            else:
                log.exception("worker tick failed", handler=name)
            return
        if name in self.short_of_space:
            log.info("worker tick stored again", handler=name)
            self.short_of_space.discard(name)

    async def _sleep(self, stop: asyncio.Event) -> None:
        waits = [asyncio.ensure_future(stop.wait()), asyncio.ensure_future(self.wake.wait())]
        try:
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(self.settings.worker_poll_seconds):
                    await asyncio.wait(waits, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for waiting in waits:
                waiting.cancel()


def pending_stacks() -> list[str]:
    """Where each task of this loop but the current one waits: its chain of awaits."""
    current = asyncio.current_task()
    return [
        f"{task.get_name()}: {' > '.join(awaits_of(task.get_coro()))}"
        for task in asyncio.all_tasks()
        if task is not current
    ]


def awaits_of(awaitable: object) -> list[str]:
    chain = []
    while awaitable is not None:
        frame = getattr(awaitable, "cr_frame", None)
        if frame is not None:
            chain.append(f"{frame.f_code.co_name} ({frame.f_code.co_filename}:{frame.f_lineno})")
        awaitable = getattr(awaitable, "cr_await", None)
    return chain


def run_engine(settings: Settings) -> DockerEngine:
    """The engine job runs use (DOCKYARD_RUN_ENGINE)."""
    retries = RegistryRetries.scaled(settings.registry_retry_scale)
    if settings.run_engine is RunEngine.SWARM:
        return SwarmEngine(settings.docker_host, retries)
    return DockerEngine(settings.docker_host, settings.container_runtime.value, retries)


def image_pusher(settings: Settings) -> DockerPusher:
    """Pushes builds to the registry; reading the log of the local registry `dockyard up`
    starts, which tells when its storage is full."""
    local = starts_local_registry(settings)
    return DockerPusher(
        settings.docker_host,
        registry_login(settings),
        RegistryRetries.scaled(settings.registry_retry_scale),
        RegistryLog(local_registry_dir(settings)) if local else None,
    )


def docker_answers(settings: Settings) -> bool:
    try:
        DockerEngine(settings.docker_host).ping_sync()
    except EngineUnavailable:
        return False
    return True


def offered_build_engines(settings: Settings, has_docker: bool) -> list[DockerfileEngine]:
    """DOCKYARD_BUILD_ENGINES, or by default those this machine has."""
    if settings.build_engines is not None:
        return settings.build_engines
    return [
        *([DockerfileEngine.BUILDKIT] if has_docker else []),
        *([DockerfileEngine.KANIKO] if shutil.which(BUILDAH) else []),
    ]


def is_daemonless(settings: Settings) -> bool:
    has_docker = docker_answers(settings)
    return goes_without_docker(has_docker, offered_build_engines(settings, has_docker))


def goes_without_docker(has_docker: bool, offered: list[DockerfileEngine]) -> bool:
    """Whether this worker goes without a Docker engine: none answers and it builds with
    kaniko (buildah) alone. It then claims kaniko builds only and runs no jobs."""
    return not has_docker and offered == [DockerfileEngine.KANIKO]


def image_engines(settings: Settings, offered: list[DockerfileEngine]) -> dict[str, ImageEngine]:
    """The builder and pusher of each Dockerfile build engine offered."""
    engines = {}
    if DockerfileEngine.BUILDKIT in offered:
        engines[DockerfileEngine.BUILDKIT.value] = ImageEngine(
            BuildkitBuilder(settings.docker_host, settings.build_network.value),
            image_pusher(settings),
        )
    if DockerfileEngine.KANIKO in offered:
        buildah = buildah_engine(settings)
        engines[DockerfileEngine.KANIKO.value] = ImageEngine(buildah, buildah)
    return engines


def buildah_engine(settings: Settings) -> BuildahEngine:
    image = settings.kaniko_network_image
    return BuildahEngine(
        buildah_storages(settings),
        settings.registry,
        registry_login(settings),
        network=settings.build_network.value,
        step_networks=(
            StepNetworks(settings.docker_host, image, settings.build_timeout_seconds)
            if image is not None and settings.build_network is BuildNetwork.DEFAULT
            else None
        ),
        retries=RegistryRetries.scaled(settings.registry_retry_scale),
    )


def check_run_engine(settings: Settings) -> list[str]:
    """Before serving: EngineUnavailable when the run engine does not answer (unless the
    worker is a daemonless build worker), lacks the container runtime asked for, or when
    swarm is chosen and the engine does not manage one. The warnings to show about the
    settings."""
    if is_daemonless(settings):
        return [
            f"no Docker engine answers at {settings.docker_host}: this worker builds with "
            "kaniko (buildah) only and runs no jobs"
        ]
    run_engine(settings).ping_sync()
    if settings.run_engine is RunEngine.SWARM and settings.container_runtime is not (
        ContainerRuntime.AUTO
    ):
        return [
            f"DOCKYARD_CONTAINER_RUNTIME={settings.container_runtime.value} is ignored with "
            "DOCKYARD_RUN_ENGINE=swarm: swarm services cannot choose a runtime, their tasks "
            "run under each node's default one (dockerd --default-runtime)"
        ]
    return []


def containment_warnings(settings: Settings) -> list[str]:
    """What the settings leave uncontained: code of a project that reaches the worker's
    machine (its loopback services: the API, the database, the registry)."""
    warnings = []
    network = settings.container_network
    if settings.run_engine is RunEngine.SWARM and network is ContainerNetwork.PROJECT:
        warnings.append(
            "job runs on the swarm use the host network (a service cannot join a project's "
            "network): jobs reach every service of the node they run on, dockyard's included"
        )
    if network is ContainerNetwork.HOST:
        warnings.append(
            "DOCKYARD_CONTAINER_NETWORK=host: jobs reach every service of this machine, "
            "dockyard's included"
        )
    if settings.build_network is BuildNetwork.HOST:
        warnings.append(
            "DOCKYARD_BUILD_NETWORK=host: build steps reach every service of this machine, "
            "dockyard's included"
        )
    return warnings


def create_worker(
    settings: Settings,
    database: Database,
    box: SecretBox,
    wake: asyncio.Event,
    more: Sequence[Handler] = (),
) -> Worker:
    """A worker driving builds (git, BuildKit or buildah, the registry) and job runs (the
    Docker engine, or the swarm it manages), and sending their notifications; and the `more`
    handlers of drivers beside it (a scheduled gc). Without a Docker engine, a worker that
    builds with buildah still drives those builds."""
    has_docker = docker_answers(settings)
    offered = offered_build_engines(settings, has_docker)
    engines = BuildEngines(
        git=GitClient(settings.git_insteadof, allow=settings.fetch_allow),
        images=image_engines(settings, offered),
    )
    worker_id = new_worker_id()
    builds = BuildDispatcher(
        settings,
        database,
        box,
        engines,
        HttpRegistry(settings.registry, registry_login(settings)),
        worker_id,
        wake,
    )
    handlers: list[Handler] = [builds]
    if not goes_without_docker(has_docker, offered):
        containers = run_engine(settings)
        handlers += [
            RunDispatcher(settings, database, box, containers, worker_id, wake),
            NetworkJanitor(settings, DockerEngine(settings.docker_host), database),
            LeftoverJanitor(settings, containers, database),
        ]
    handlers += [
        LogJanitor(settings, database),
        CronScheduler(settings, database, box, wake),
        NotificationSender(settings, database, box, worker_id, wake),
        *more,
    ]
    return Worker(settings, handlers, wake)
