"""An in-memory `JobContainers` for fast unit tests of the run pipeline, as httpx's
`MockTransport` is for transports: the test says what each container does (a handler from
its spec to a `Behaviour`), and the engine keeps the interface's promises (a name is taken
once, `wait` returns at the exit, `follow_logs` delivers from `since` until the exit, `stop`
and `remove` end a running container and never fail on a gone one, `find` and `labelled`
see what is there) and keeps every container it made for the test to inspect.

Tests only: no code path of dockyard builds one (the worker's engine is
`worker.loop.run_engine`), and it stands in for the real engine only where a test is about
the worker's rules; the tests on real containers (tests/runs, tests/engine) stay. Nothing
waits in real time: the lines are printed at the start, checks answer at once.
"""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from dockyard.engine.base import (
    ContainerExists,
    ContainerSpec,
    ContainerState,
    JobContainers,
    LabelledContainer,
    LineSink,
    RegistryCredentials,
    ResourceUsage,
    Room,
    TimedLineSink,
)
from dockyard.errors import RunFailed

KILLED = 137  # the exit code of a container ended by SIGKILL
TICK = timedelta(microseconds=1)


@dataclass(frozen=True)
class Behaviour:
    """What one container does: it prints `lines`, answers the commands run in it (health
    checks) with the exit codes of `checks` in turn, then exits with `exit_code`. With
    `exit_code` None it runs until it is stopped, its last check's answer repeating; with no
    `checks` every check passes. With `start_error` it never starts (RunFailed)."""

    lines: Sequence[str] = ()
    exit_code: int | None = 0
    checks: Sequence[int] = ()
    start_error: str | None = None


Handler = Callable[[ContainerSpec], Behaviour]


def in_turn(*behaviours: Behaviour) -> Handler:
    """A handler giving the containers, in the order they start, each the next of
    `behaviours` (the last one repeating)."""
    turns = itertools.count()
    return lambda spec: behaviours[min(next(turns), len(behaviours) - 1)]


@dataclass
class MemoryContainer:
    id: str
    spec: ContainerSpec
    behaviour: Behaviour
    started_at: datetime
    lines: list[tuple[str, datetime]] = field(default_factory=list)
    execs: list[list[str]] = field(default_factory=list)
    exit_code: int | None = None
    finished_at: datetime | None = None
    stopped_with_grace: float | None = None
    removed: bool = False
    exited: asyncio.Event = field(default_factory=asyncio.Event)

    @property
    def running(self) -> bool:
        return self.finished_at is None

    def state(self) -> ContainerState:
        return ContainerState(
            self.id, self.running, self.exit_code, self.started_at, self.finished_at
        )

    def exit(self, code: int, at: datetime) -> None:
        if self.running:
            self.exit_code, self.finished_at = code, at
            self.exited.set()


class MemoryContainers:
    """Containers that do what `handler` says of each; the first `pull_failures` pulls fail.
    `containers` holds every container started, in order (removed ones flagged); `pulls` the
    images pulled; `watched` a container each time something begins to wait for its exit."""

    def __init__(
        self,
        handler: Handler = lambda spec: Behaviour(),
        *,
        pull_failures: int = 0,
        architecture: str = "x86",
    ) -> None:
        self.handler = handler
        self.pull_failures = pull_failures
        self.machine = architecture
        self.containers: list[MemoryContainer] = []
        self.pulls: list[str] = []
        self.watched: asyncio.Queue[MemoryContainer] = asyncio.Queue()
        self._last = datetime.min.replace(tzinfo=UTC)

    def _now(self) -> datetime:
        """The engine's clock: never the same time twice, as log lines' times are not."""
        self._last = max(datetime.now(UTC), self._last + TICK)
        return self._last

    def _present(self, id_or_name: str) -> MemoryContainer | None:
        return next(
            (c for c in self.containers if not c.removed and id_or_name in (c.id, c.spec.name)),
            None,
        )

    def _get(self, id_or_name: str) -> MemoryContainer:
        container = self._present(id_or_name)
        if container is None:
            raise RunFailed(f"The Docker engine refused: No such container: {id_or_name}")
        return container

    async def ping(self) -> None:
        pass

    async def architecture(self) -> str:
        return self.machine

    async def supports_storage_limit(self) -> bool:
        return False

    async def runtime(self) -> str:
        return "memory"

    async def ensure_image(
        self,
        image: str,
        credentials: RegistryCredentials | None = None,
        *,
        on_line: LineSink | None = None,
    ) -> str:
        self.pulls.append(image)
        if len(self.pulls) <= self.pull_failures:
            raise RunFailed(f"Image {image} cannot be pulled: the registry refused it")
        return image

    async def start(self, spec: ContainerSpec) -> ContainerState:
        if (existing := self._present(spec.name)) is not None:
            raise ContainerExists(existing.state())
        behaviour = self.handler(spec)
        if behaviour.start_error is not None:
            raise RunFailed(f"Container {spec.name} cannot start: {behaviour.start_error}")
        container = MemoryContainer(
            f"memory-{len(self.containers) + 1}", spec, behaviour, self._now()
        )
        self.containers.append(container)
        container.lines = [(line, self._now()) for line in behaviour.lines]
        started = container.state()
        self._exit_when_done(container)
        return started

    def _exit_when_done(self, container: MemoryContainer) -> None:
        code = container.behaviour.exit_code
        if code is not None and len(container.execs) >= len(container.behaviour.checks):
            container.exit(code, self._now())

    async def find(self, name: str) -> ContainerState | None:
        container = self._present(name)
        return None if container is None or container.spec.name != name else container.state()

    async def wait(self, container_id: str) -> ContainerState:
        container = self._get(container_id)
        self.watched.put_nowait(container)
        await container.exited.wait()
        return container.state()

    async def follow_logs(
        self,
        container_id: str,
        on_line: TimedLineSink,
        *,
        since: datetime | None = None,
        room: Room | None = None,
    ) -> None:
        container = self._get(container_id)
        for line, at in container.lines:
            if since is None or at >= since:
                on_line(line, at)
                if room is not None:
                    await room()
        await container.exited.wait()

    async def stop(self, container_id: str, grace_seconds: float) -> None:
        """As if the container ignored SIGTERM and was killed after the grace period (which
        is recorded, not waited)."""
        container = self._present(container_id)
        if container is not None and container.running:
            container.stopped_with_grace = grace_seconds
            container.exit(KILLED, self._now())

    async def remove(self, container_id: str) -> None:
        container = self._present(container_id)
        if container is not None:
            container.exit(KILLED, self._now())
            container.removed = True

    async def exec(self, container_id: str, command: list[str], timeout: float) -> int:
        container = self._get(container_id)
        if not container.running:
            raise RunFailed(f"The Docker engine refused: container {container_id} is not running")
        checks = container.behaviour.checks
        answer = checks[min(len(container.execs), len(checks) - 1)] if checks else 0
        container.execs.append(command)
        self._exit_when_done(container)
        return answer

    async def labelled(self, key: str, value: str | None = None) -> list[LabelledContainer]:
        return [
            LabelledContainer(c.state(), dict(c.spec.labels))
            for c in self.containers
            if not c.removed and key in c.spec.labels and value in (None, c.spec.labels[key])
        ]

    async def usage(self, container_id: str) -> ResourceUsage | None:
        """None: an in-memory container uses nothing to measure."""
        self._get(container_id)
        return None

    async def address(self, container_id: str) -> str | None:
        """None: HTTP and TCP probes run inside the container (`wget`, `nc -z`), as on the
        `none` network, so `Behaviour.checks` answers every kind of probe."""
        self._get(container_id)
        return None

    async def project_network(self, installation: str, project_id: str) -> str:
        return f"memory-network-{installation}-{project_id}"


def _conforms(engine: MemoryContainers) -> JobContainers:
    """mypy --strict proves that the memory engine honours the interface."""
    return engine
