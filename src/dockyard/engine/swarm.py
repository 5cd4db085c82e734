"""Job runs as Docker Swarm services (DOCKYARD_RUN_ENGINE=swarm), through docker-py.

Each attempt is a `replicated-job` service (one task, restart condition none) with the name
the local engine gives its container, so a run is found again by that name after a worker
crash; retries, the deadline and health checks stay dockyard's. `ContainerState.id` is the
service's id. The engine talked to must be a swarm manager (scripts/swarm-up.sh).

- `spec.files` become swarm secrets mounted read-only at their paths, labelled with the
  service's name and removed with it.
- Logs are the service's, wherever its task runs. A followed service log never ends by itself:
  it is closed once the task has ended, and the lines it had not delivered are read after.
- Image pulls, engine info, and `exec` / graceful `stop` of the task's container go through
  the engine talked to: on a multi-node swarm, CMD health checks need the task on that node,
  and `stop` of a task elsewhere removes its service (Docker's own 10 s grace).
- Least privilege as far as a service spec has it (API 1.41): the pids limit and Docker's
  default capabilities less NET_RAW; never privileged (services cannot be), no host mounts.
- Not available: the `none` network (swarm has no such network for services), the storage
  limit (`supports_storage_limit` is False), OOMKilled (a task reports its exit code only),
  `no-new-privileges` (the 1.41 service spec has no such option) and the OCI runtime (a
  service has no runtime field: tasks run under each node's default runtime, which `runtime`
  reports as this engine's).
- Not contained: a project's network is the host's (a service cannot join a node's local
  bridge), so a job reaches every service of the node it runs on, its loopback included.
"""

from __future__ import annotations

import asyncio
import secrets
from collections import deque
from collections.abc import Callable, Iterable
from contextlib import suppress
from datetime import datetime
from typing import Any, Protocol, TypeVar, cast

from docker.errors import APIError, NotFound
from docker.types import (
    ContainerSpec as ServiceContainer,
)
from docker.types import (
    Mount,
    Placement,
    Resources,
    RestartPolicy,
    SecretReference,
    ServiceMode,
    TaskTemplate,
)

from dockyard.engine.base import (
    ContainerExists,
    ContainerSpec,
    ContainerState,
    LabelledContainer,
    LineSink,
    RegistryCredentials,
    ResourceUsage,
    Room,
    TimedLineSink,
)
from dockyard.engine.containers import (
    AUTO_RUNTIME,
    DROPPED_CAPABILITIES,
    FILE_MODE,
    SERVICE_LOGS,
    DockerEngine,
    checked_file_path,
    docker_time,
    explanation,
    followed_log,
    frame_lines,
    missed_frames,
    remembering,
)
from dockyard.engine.retries import REGISTRY_RETRIES, RegistryRetries
from dockyard.errors import EngineUnavailable, RunFailed

TASK_POLL_SECONDS = 0.25
ENDED_STATES = frozenset({"complete", "failed", "shutdown", "rejected", "orphaned", "remove"})
# swarmkit's error of a task whose container ran and exited non-zero (not one that never started)
NON_ZERO_EXIT = "task: non-zero exit"
LABEL_FILES_OF = "dockyard.files-of"
SHM_PATH = "/dev/shm"
NETWORKS: dict[str, list[str] | None] = {"host": ["host"], "bridge": None}  # None: the node's

T = TypeVar("T")
Task = dict[str, Any]


class SwarmApi(Protocol):
    """The calls of docker-py's APIClient this engine makes, typed (its stub leaves the service
    calls unannotated)."""

    def create_service(
        self,
        task_template: TaskTemplate,
        *,
        name: str,
        labels: dict[str, str],
        mode: ServiceMode,
    ) -> dict[str, Any]: ...

    def login(self, username: str, password: str, *, registry: str) -> dict[str, Any]: ...

    def inspect_service(self, service: str) -> dict[str, Any]: ...

    def remove_service(self, service: str) -> bool: ...

    def services(self, *, filters: dict[str, str]) -> list[dict[str, Any]]: ...

    def tasks(self, *, filters: dict[str, str]) -> list[Task]: ...

    def create_secret(self, name: str, data: bytes, labels: dict[str, Any]) -> dict[str, Any]: ...

    def remove_secret(self, id: str) -> bool: ...

    def secrets(self, *, filters: dict[str, Any]) -> Iterable[dict[str, Any]]: ...


class SwarmEngine(DockerEngine):
    def __init__(self, docker_host: str, retries: RegistryRetries = REGISTRY_RETRIES) -> None:
        super().__init__(docker_host, AUTO_RUNTIME, retries)
        self._logins: dict[str, RegistryCredentials] = {}

    def ping_sync(self) -> None:
        """EngineUnavailable unless the engine answers and is a swarm manager."""
        super().ping_sync()
        with self._translated_errors():
            swarm = self.client.info()["Swarm"]
        if not swarm.get("ControlAvailable"):
            raise EngineUnavailable(
                f"Docker engine at {self.docker_host} is not a swarm manager, which "
                "DOCKYARD_RUN_ENGINE=swarm needs: make it one with scripts/swarm-up.sh"
            )

    async def supports_storage_limit(self) -> bool:
        return False

    async def runtime(self) -> str:
        return str((await self._engine_info())["DefaultRuntime"])

    async def ensure_image(
        self,
        image: str,
        credentials: RegistryCredentials | None = None,
        *,
        on_line: LineSink | None = None,
    ) -> str:
        """Pull `image` on this engine (a bad reference or login fails here, before any
        service), and untag it again: the swarm's nodes pull it themselves. Its login is kept
        for `start`, which hands it to the swarm so that any node can pull the image."""
        if credentials is not None:
            self._logins[image] = credentials
        await self._untag_pulled(await super().ensure_image(image, credentials, on_line=on_line))
        return image

    async def start(self, spec: ContainerSpec) -> ContainerState:
        """Create the service and wait until its task runs (or has already ended); a task that
        cannot start has its service removed: RunFailed."""
        if spec.network_mode not in NETWORKS:
            raise RunFailed(f"Swarm services cannot have the {spec.network_mode!r} network")
        architecture = (await self._engine_info())["Architecture"]
        login = self._logins.get(spec.image)
        service_id = await self._swarm(lambda api: _create_service(api, spec, architecture, login))
        task = await self._task_until(service_id, _running_or_ended)
        if not _ran(task):
            await self.remove(service_id)
            raise RunFailed(f"Container {spec.name} cannot start: {_task_error(task)}")
        return _state(service_id, task)

    async def find(self, name: str) -> ContainerState | None:
        return await self._swarm(lambda api: _named_service_state(api, name))

    async def wait(self, container_id: str) -> ContainerState:
        return _state(container_id, await self._task_until(container_id, _ended))

    async def follow_logs(
        self,
        container_id: str,
        on_line: TimedLineSink,
        *,
        since: datetime | None = None,
        room: Room | None = None,
    ) -> None:
        """Every stdout/stderr line, with its time, of the service's task from `since` until
        it has ended.
        Cancelling closes the stream, which ends the reading thread."""
        since_seconds = since.timestamp() if since else 0
        stream = await self._api(
            lambda api: followed_log(api, SERVICE_LOGS, container_id, since_seconds)
        )
        last_frame: deque[bytes] = deque(maxlen=1)
        relaying = asyncio.create_task(
            self._relay_lines(
                frame_lines(remembering(stream, last_frame)), lambda timed: on_line(*timed), room
            )
        )
        try:
            await self.wait(container_id)
        except BaseException:
            relaying.cancel()
            raise
        finally:
            stream.close()
        await relaying
        after = last_frame[0] if last_frame else None
        missed = missed_frames(self.client.api, SERVICE_LOGS, container_id, since_seconds, after)
        await self._relay_lines(frame_lines(missed), lambda timed: on_line(*timed), room)

    async def stop(self, container_id: str, grace_seconds: float) -> None:
        """SIGTERM to the task's container, SIGKILL after `grace_seconds`; a task on another
        node is stopped by removing its service."""
        task = await self._swarm(lambda api: _task_or_none(api, container_id))
        if task is None or _ended(task):
            return
        if task.get("NodeID") == (await self._engine_info())["Swarm"]["NodeID"]:
            await super().stop(_container_of(task), grace_seconds)
        else:
            await self.remove(container_id)

    async def remove(self, container_id: str) -> None:
        """Remove the service, the secrets holding its files, and its task's container, which
        the swarm leaves behind once the task has ended (on this engine only: elsewhere that
        node keeps it); no error if it is gone."""
        containers = await self._swarm(lambda api: _remove_service(api, container_id))
        for container in containers:
            await super().remove(container)

    async def exec(self, container_id: str, command: list[str], timeout: float) -> int:
        return await super().exec(await self._task_container(container_id), command, timeout)

    async def address(self, container_id: str) -> str | None:
        return await super().address(await self._task_container(container_id))

    async def usage(self, container_id: str) -> ResourceUsage | None:
        """The stats of the task's container, when it runs on the node talked to; None when
        it runs on another node (or has not started)."""
        task = await self._swarm(lambda api: _current_task(api, container_id))
        if task is None or not _ran(task) or _ended(task):
            return None
        return await super().usage(_container_of(task))

    async def project_network(self, installation: str, project_id: str) -> str:
        """The host's: services cannot join a node's local bridge. Unsafe (see above)."""
        return "host"

    async def labelled(self, key: str, value: str | None = None) -> list[LabelledContainer]:
        selector = key if value is None else f"{key}={value}"
        return await self._swarm(lambda api: _labelled_states(api, selector))

    async def _task_container(self, service_id: str) -> str:
        task = await self._swarm(lambda api: _current_task(api, service_id))
        if task is None or not _ran(task):
            raise RunFailed(f"The task of service {service_id} has not started")
        return _container_of(task)

    async def _swarm(self, call: Callable[[SwarmApi], T]) -> T:
        return await self._api(lambda api: call(cast(SwarmApi, api)))

    async def _task_until(self, service_id: str, reached: Callable[[Task], bool]) -> Task:
        """The service's task once it has `reached` a state (polled: the swarm API has no
        wait); RunFailed when the service is gone."""
        while True:
            task = await self._swarm(lambda api: _current_task(api, service_id))
            if task is not None and reached(task):
                return task
            await asyncio.sleep(TASK_POLL_SECONDS)


def _create_service(
    api: SwarmApi, spec: ContainerSpec, architecture: str, login: RegistryCredentials | None
) -> str:
    if login is not None:  # docker-py sends the client's login for the image's registry
        api.login(login.username, login.password, registry=login.registry)
    files = _create_file_secrets(api, spec)
    template = TaskTemplate(
        _service_container(spec, files),
        restart_policy=RestartPolicy(condition="none"),
        networks=NETWORKS[spec.network_mode],
        resources=_resources(spec),
        # The engine's architecture is the one `architecture()` reports for the whole swarm.
        placement=Placement(constraints=[f"node.platform.arch=={architecture}"]),
    )
    try:
        created = api.create_service(
            template,
            name=spec.name,
            labels=dict(spec.labels),
            mode=ServiceMode("replicated-job", concurrency=1, replicas=1),
        )
    except APIError as exc:
        _remove_secrets(api, [file["SecretID"] for file in files])
        if exc.status_code == 409:
            raise ContainerExists(_service_state(api, spec.name)) from exc
        raise RunFailed(f"Container {spec.name} cannot be created: {explanation(exc)}") from exc
    return str(created["ID"])


def _resources(spec: ContainerSpec) -> Resources:
    resources = Resources(cpu_limit=spec.nano_cpus, mem_limit=spec.memory_bytes)
    if spec.pids_limit is not None:  # docker-py's Resources has no argument for it
        resources.setdefault("Limits", {})["Pids"] = spec.pids_limit
    return resources


def _service_container(spec: ContainerSpec, files: list[SecretReference]) -> ServiceContainer:
    shm = (
        [Mount(SHM_PATH, None, type="tmpfs", tmpfs_size=spec.shm_size_bytes)]
        if spec.shm_size_bytes
        else None
    )
    return ServiceContainer(
        spec.image,
        command=spec.entrypoint,
        args=spec.command,
        env=dict(spec.env),
        labels=dict(spec.labels),
        secrets=files,
        mounts=shm,
        cap_drop=DROPPED_CAPABILITIES,
    )


def _create_file_secrets(api: SwarmApi, spec: ContainerSpec) -> list[SecretReference]:
    """A secret for each file, named uniquely (a crashed worker may have left one of an
    earlier start) and labelled with the service's name, by which `remove` finds them."""
    paths = [str(checked_file_path(path)) for path in spec.files]
    references: list[SecretReference] = []
    try:
        for index, (path, content) in enumerate(zip(paths, spec.files.values(), strict=True)):
            name = f"{spec.name}-file{index}-{secrets.token_hex(4)}"
            created = api.create_secret(name, content, labels={LABEL_FILES_OF: spec.name})
            references.append(
                SecretReference(
                    created["ID"], name, filename=path, uid="0", gid="0", mode=FILE_MODE
                )
            )
    except APIError:
        _remove_secrets(api, [reference["SecretID"] for reference in references])
        raise
    return references


def _remove_service(api: SwarmApi, service: str) -> list[str]:
    """Remove the service and its secrets; the containers its tasks had."""
    try:
        found = api.inspect_service(service)
        tasks = api.tasks(filters={"service": found["ID"]})
        api.remove_service(found["ID"])
    except NotFound:
        return []
    leftovers = api.secrets(filters={"label": f"{LABEL_FILES_OF}={found['Spec']['Name']}"})
    _remove_secrets(api, [secret["ID"] for secret in leftovers])
    return [_container_of(task) for task in tasks if _has_container(task)]


def _remove_secrets(api: SwarmApi, secret_ids: Iterable[str]) -> None:
    for secret_id in secret_ids:
        with suppress(NotFound):
            api.remove_secret(secret_id)


def _current_task(api: SwarmApi, service_id: str) -> Task | None:
    """The service's newest task (a replicated job of one completion without restarts has one
    at most); NotFound when the service is gone."""
    tasks: list[Task] = api.tasks(filters={"service": service_id})
    return max(tasks, key=lambda task: int(task["Version"]["Index"]), default=None)


def _task_or_none(api: SwarmApi, service_id: str) -> Task | None:
    try:
        return _current_task(api, service_id)
    except NotFound:
        return None


def _service_state(api: SwarmApi, service: str) -> ContainerState:
    service_id = str(api.inspect_service(service)["ID"])
    return _state(service_id, _current_task(api, service_id))


def _named_service_state(api: SwarmApi, name: str) -> ContainerState | None:
    try:
        service = api.inspect_service(name)
    except NotFound:
        return None
    # Inspect also matches an id or id prefix: only a service of that very name counts.
    if service["Spec"]["Name"] != name:
        return None
    return _service_state(api, service["ID"])


def _labelled_states(api: SwarmApi, selector: str) -> list[LabelledContainer]:
    states = []
    for service in api.services(filters={"label": selector}):
        with suppress(NotFound):  # removed since it was listed
            state = _service_state(api, service["ID"])
            states.append(LabelledContainer(state, service["Spec"].get("Labels") or {}))
    return states


def _container_of(task: Task) -> str:
    return str(task["Status"]["ContainerStatus"]["ContainerID"])


def _has_container(task: Task) -> bool:
    return bool(task["Status"].get("ContainerStatus", {}).get("ContainerID"))


def _ended(task: Task) -> bool:
    return task["Status"]["State"] in ENDED_STATES


def _running_or_ended(task: Task) -> bool:
    return task["Status"]["State"] == "running" or _ended(task)


def _ran(task: Task) -> bool:
    """Whether the task's container started (ended tasks: it exited, rather than failing to
    start or being rejected)."""
    status = task["Status"]
    ran_to_exit = str(status.get("Err", "")).startswith(NON_ZERO_EXIT)
    return status["State"] in ("running", "complete") or ran_to_exit


def _task_error(task: Task) -> str:
    status = task["Status"]
    return str(status.get("Err") or status.get("Message") or status["State"])


def _state(service_id: str, task: Task | None) -> ContainerState:
    """The service's state as its task's. A task reports when it entered its current state:
    once ended, its start is known only as its creation (which includes the image pull)."""
    if task is None:
        return ContainerState(service_id, False, None, None, None)
    status = task["Status"]
    running = status["State"] == "running"
    ran, ended = _ran(task), _ended(task)
    return ContainerState(
        id=service_id,
        running=running,
        exit_code=int(status["ContainerStatus"]["ExitCode"]) if ran and ended else None,
        started_at=docker_time(status["Timestamp"] if running else task["CreatedAt"])
        if ran
        else None,
        finished_at=docker_time(status["Timestamp"]) if ended else None,
    )
