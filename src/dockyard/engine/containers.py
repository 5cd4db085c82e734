"""The Docker Engine API through docker-py (blocking calls run in threads).

Every job container gets least privilege: Docker's default capabilities less NET_RAW (raw
sockets forge packets on the bridge), `no-new-privileges` (no setuid or file capabilities
gain anything), its pids limit, never `--privileged`, and nothing of the host mounted (no bind
mount, no volume, no Docker socket). Its OCI runtime is the one the engine was made with:
`runc`, `runsc` (gVisor), or `auto`, runsc when the engine has it.

Errors: EngineUnavailable when the engine does not answer, RunFailed when it refuses an
operation (docker's own message), ContainerExists when a container name is taken.
"""

from __future__ import annotations

import asyncio
import io
import math
import struct
import tarfile
import threading
import time
from collections import deque
from collections.abc import Callable, Iterable, Iterator, Mapping
from contextlib import contextmanager, suppress
from datetime import UTC, datetime
from functools import cached_property
from pathlib import PurePosixPath
from typing import Any, Generic, TypeVar

import docker
import requests
from docker import APIClient
from docker.auth import INDEX_NAME, split_repo_name
from docker.errors import APIError, DockerException, InvalidRepository, NotFound
from docker.types import CancellableStream

from dockyard.engine import networks
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
from dockyard.engine.retries import REGISTRY_RETRIES, RegistryRetries
from dockyard.errors import EngineUnavailable, RunFailed

API_TIMEOUT_SECONDS = 30
PULL_TRIES = 2
# `wait` waits in slices of this long, so a cancelled wait leaves its thread no longer.
WAIT_SLICE_SECONDS = 5
EXEC_POLL_SECONDS = 0.1
MISSED_FRAMES_FIRST_READ = 8
CONTAINER_LOGS = "/containers/{0}/logs"
SERVICE_LOGS = "/services/{0}/logs"
# At most this many lines read from a log wait for the event loop.
RELAYED_LINES = 10_000
CHUNK_BYTES = 64 * 1024
FRAME_HEADER = struct.Struct(">BxxxL")
ARCHITECTURES = {"x86_64": "x86", "amd64": "x86", "aarch64": "arm", "arm64": "arm"}
DOCKER_ZERO_TIME = "0001-01-01T00:00:00Z"
FILE_MODE = 0o644
LOOPBACK = "127.0.0.1"
# The engine cuts a longer log line into messages of this size.
DOCKER_PIECE_BYTES = 16 * 1024
RUNC = "runc"
RUNSC = "runsc"
AUTO_RUNTIME = "auto"
# The engine's pids limit counts host tasks. gVisor's ptrace platform gives each task of the job
# host tasks of its own (measured: ~9 a process, ~50 for the sandbox, runsc 2022-12 on 2 cores):
# the limit of a job under runsc is scaled so that it still allows about as many of the job's.
RUNSC_HOST_TASKS_PER_TASK = 10
RUNSC_SANDBOX_TASKS = 64
DROPPED_CAPABILITIES = ["NET_RAW"]
SECURITY_OPTIONS = ["no-new-privileges"]

T = TypeVar("T")
Inspection = dict[str, Any]


class DockerEngine:
    def __init__(
        self, docker_host: str, runtime: str = RUNC, retries: RegistryRetries = REGISTRY_RETRIES
    ) -> None:
        self.docker_host = docker_host
        self.wanted_runtime = runtime
        self.retries = retries
        self._info: dict[str, Any] | None = None
        # Image id -> the references pulled as it, untagged once a container holds it.
        self._pulled: dict[str, set[str]] = {}

    @cached_property
    def client(self) -> docker.DockerClient:
        return docker.DockerClient(base_url=self.docker_host, timeout=API_TIMEOUT_SECONDS)

    def ping_sync(self) -> None:
        """EngineUnavailable unless the engine answers and has the runtime asked for."""
        try:
            self.client.ping()
        except (DockerException, OSError) as exc:
            raise EngineUnavailable(
                f"Docker engine at {self.docker_host} did not answer: {exc}. "
                "Start one with scripts/docker-up.sh"
            ) from exc
        with self._translated_errors():
            runtimes = sorted(self.client.info().get("Runtimes") or {})
        if self.wanted_runtime not in (AUTO_RUNTIME, *runtimes):
            raise EngineUnavailable(
                f"Docker engine at {self.docker_host} has no runtime {self.wanted_runtime!r} "
                f"(DOCKYARD_CONTAINER_RUNTIME); it has {', '.join(runtimes)}. Register it "
                "with the engine (scripts/docker-up.sh does for gVisor's runsc) or choose one "
                "it has"
            )

    async def ping(self) -> None:
        await asyncio.to_thread(self.ping_sync)

    async def architecture(self) -> str:
        machine = (await self._engine_info())["Architecture"]
        if machine not in ARCHITECTURES:
            raise RunFailed(f"The Docker engine's architecture {machine} is neither x86 nor arm")
        return ARCHITECTURES[machine]

    async def supports_storage_limit(self) -> bool:
        """Whether `ContainerSpec.storage_bytes` is enforced; it is ignored otherwise. Only
        overlay2 on xfs (mounted with pquota) can limit a container's writable layer."""
        info = await self._engine_info()
        backing = dict(info.get("DriverStatus") or []).get("Backing Filesystem")
        return info.get("Driver") == "overlay2" and backing == "xfs"

    async def runtime(self) -> str:
        if self.wanted_runtime != AUTO_RUNTIME:
            return self.wanted_runtime
        return RUNSC if RUNSC in ((await self._engine_info()).get("Runtimes") or {}) else RUNC

    async def ensure_image(
        self,
        image: str,
        credentials: RegistryCredentials | None = None,
        *,
        on_line: LineSink | None = None,
    ) -> str:
        """The id of `image` on this engine; its pull's status lines (not the progress bars)
        go to `on_line`. RunFailed when it cannot be pulled; a pull from a registry that does
        not answer is tried again (`retries`) first.

        An image of a registry (or one with a login) is pulled for every run, so that its
        registry checks each run's login, and untagged once the run's container holds it:
        left tagged, any build on this engine could `FROM` it, and any run start it, with no
        login at all. Only a Docker Hub name the engine already has is used as it is."""
        present = None
        if not must_pull(image, credentials):
            present = await self._api(lambda api: _image_id(api, image))
        if present is not None:
            return present
        auth = auth_config(credentials)
        for _ in range(PULL_TRIES):
            await self.retries.call(
                lambda: self._relay_lines(self._pull_lines(image, auth), on_line or _ignore_line),
                RunFailed,
                "pulling",
                on_line,
            )
            # Another run's container may have been created and the tag dropped meanwhile.
            if (image_id := await self._api(lambda api: _image_id(api, image))) is not None:
                self._pulled.setdefault(image_id, set()).add(image)
                return image_id
        raise RunFailed(f"Image {image} was untagged on the engine as soon as it was pulled")

    async def start(self, spec: ContainerSpec) -> ContainerState:
        storage_bytes = spec.storage_bytes if await self.supports_storage_limit() else None
        runtime = await self.runtime()
        try:
            inspection = await self._api(
                lambda api: _create_and_start(api, spec, storage_bytes, runtime)
            )
        finally:
            await self._untag_pulled(spec.image)
        return _state(inspection)

    async def _untag_pulled(self, image_id: str) -> None:
        references = self._pulled.pop(image_id, set())
        await self._api(lambda api: [untag(api, ref, force=True) for ref in references])

    async def find(self, name: str) -> ContainerState | None:
        inspection = await self._api(lambda api: _inspect_or_none(api, name))
        # Inspect also matches an id or id prefix: only a container of that very name counts.
        if inspection is None or inspection["Name"] != f"/{name}":
            return None
        return _state(inspection)

    async def wait(self, container_id: str) -> ContainerState:
        exited = False
        while not exited:
            exited = await self._api(
                lambda api: _exits_within(api, container_id, WAIT_SLICE_SECONDS)
            )
        return _state(await self._api(lambda api: api.inspect_container(container_id)))

    async def follow_logs(
        self,
        container_id: str,
        on_line: TimedLineSink,
        *,
        since: datetime | None = None,
        room: Room | None = None,
    ) -> None:
        """Every stdout/stderr line (merged, utf-8 with replacement) with its time, from
        `since` until the container exits; the engine ends the stream then. A last line
        without a newline is delivered as one. Cancelling closes the stream, which ends the
        reading thread. EngineUnavailable when the stream ends while the container still
        runs: the engine went away (restarted) and a live-restored container keeps writing."""
        since_seconds = since.timestamp() if since else None
        stream = await self._api(
            lambda api: followed_log(api, CONTAINER_LOGS, container_id, since_seconds)
        )
        last_frame: deque[bytes] = deque(maxlen=1)
        try:
            await self._relay_lines(
                frame_lines(remembering(stream, last_frame)), lambda timed: on_line(*timed), room
            )
        except asyncio.CancelledError:
            stream.close()
            raise
        # moby#43860: the followed stream can end before the log does: before a last line
        # without a newline, or, at the exit of a flood it had not caught up with, tens of
        # thousands of lines early. Those are relayed as they are read again.
        after = last_frame[0] if last_frame else None
        missed = missed_frames(self.client.api, CONTAINER_LOGS, container_id, since_seconds, after)
        await self._relay_lines(frame_lines(missed), lambda timed: on_line(*timed), room)
        if (await self._api(lambda api: api.inspect_container(container_id)))["State"]["Running"]:
            raise EngineUnavailable(
                f"The log stream of container {container_id[:12]} from the Docker engine at "
                f"{self.docker_host} was cut off while it runs (the engine restarted?)"
            )

    async def stop(self, container_id: str, grace_seconds: float) -> None:
        grace = math.ceil(grace_seconds)
        await self._api(lambda api: _stop_if_present(api, container_id, grace))

    async def remove(self, container_id: str) -> None:
        await self._api(lambda api: _remove_if_present(api, container_id))

    async def exec(self, container_id: str, command: list[str], timeout: float) -> int:
        """The exit code of `command` run inside the container. On TimeoutError the command
        keeps running: the engine cannot kill an exec; it ends with the container."""
        exec_id = await self._api(lambda api: _start_detached_exec(api, container_id, command))
        async with asyncio.timeout(timeout):
            while (exit_code := await self._api(lambda api: _exec_exit_code(api, exec_id))) is None:
                await asyncio.sleep(EXEC_POLL_SECONDS)
        return exit_code

    async def labelled(self, key: str, value: str | None = None) -> list[LabelledContainer]:
        selector = key if value is None else f"{key}={value}"
        return await self._api(lambda api: _labelled_states(api, selector))

    async def usage(self, container_id: str) -> ResourceUsage | None:
        """The engine's one-shot stats of the container (a read of its cgroup, a few ms)."""
        stats = await self._api(lambda api: _one_shot_stats(api, container_id))
        return None if stats is None else usage_of(stats)

    async def address(self, container_id: str) -> str | None:
        """Where this machine connects to the running container: its IP address on its
        network, 127.0.0.1 on the host network; None on the `none` network."""
        inspection = await self._api(lambda api: api.inspect_container(container_id))
        return _address(inspection)

    async def project_network(self, installation: str, project_id: str) -> str:
        """The id of the project's own network (engine/networks.py), created if need be."""
        network = networks.ProjectNetwork(installation, project_id)
        return await self._api(
            lambda api: networks.ensure_project_network(api, network, self.docker_host)
        )

    async def project_networks(self, installation: str) -> dict[str, str]:
        """Network id -> project id, of every project network of the installation."""
        return await self._api(lambda api: networks.project_networks(api, installation))

    async def remove_network(self, network_id: str) -> bool:
        """False when containers still use the network: it stays."""
        return await self._api(lambda api: networks.remove_network(api, network_id))

    async def image_tags(self, prefix: str, label: str) -> list[str]:
        """The engine's tags starting with `prefix` (say `<registry>/`) of images that carry
        `label`."""
        images = await self._api(lambda api: api.images(filters={"label": label}))
        return sorted(
            tag for image in images for tag in image.get("RepoTags") or [] if tag.startswith(prefix)
        )

    async def remove_tag(self, reference: str) -> bool:
        """Untag an image (deleting it with its last tag); False when a container still uses
        it, so it stays."""
        return await self._api(lambda api: untag(api, reference))

    async def _engine_info(self) -> dict[str, Any]:
        if self._info is None:
            self._info = await self._api(lambda api: api.info())
        return self._info

    async def _api(self, call: Callable[[APIClient], T]) -> T:
        """`call` with the low-level client, in a thread, docker's errors translated."""

        def run() -> T:
            with self._translated_errors():
                return call(self.client.api)

        return await asyncio.to_thread(run)

    async def _relay_lines(
        self, lines: Iterable[T], on_line: Callable[[T], None], room: Room | None = None
    ) -> None:
        """Read the blocking `lines` in a thread and hand each to `on_line` in the event loop;
        none after this returns or is cancelled. The event loop takes them in batches (one
        wake-up for all the lines read meanwhile, not one a line); at most RELAYED_LINES wait
        for it, the thread waits for room beyond, as it does while `room` (the consumer's)
        waits. The engine keeps the container's output meanwhile: it never waits for us."""
        loop = asyncio.get_running_loop()
        relay = Relay[T](loop)

        def read() -> None:
            with self._translated_errors(), relay.closing():
                for line in lines:
                    relay.put(line)

        reading = asyncio.ensure_future(asyncio.to_thread(read))
        try:
            while (batch := await relay.batch()) is not None:
                for line in batch:
                    on_line(line)
                if room is not None:
                    await room()
            await reading
        finally:
            relay.cancel()

    def _pull_lines(self, image: str, auth: dict[str, str] | None) -> Iterator[str]:
        try:
            events = self.client.api.pull(image, stream=True, decode=True, auth_config=auth)
            for event in events:
                if "error" in event:
                    raise RunFailed(f"Image {image} cannot be pulled: {event['error']}")
                if "progress" not in event:
                    yield _pull_status_line(event)
        except (APIError, InvalidRepository) as exc:
            raise RunFailed(f"Image {image} cannot be pulled: {explanation(exc)}") from exc

    @contextmanager
    def _translated_errors(self) -> Iterator[None]:
        try:
            yield
        except APIError as exc:  # the engine answered; requests' errors are OSErrors too
            raise RunFailed(f"The Docker engine refused: {explanation(exc)}") from exc
        except (DockerException, OSError) as exc:
            raise EngineUnavailable(
                f"Docker engine at {self.docker_host} did not answer: {exc}"
            ) from exc


def must_pull(image: str, credentials: RegistryCredentials | None) -> bool:
    return credentials is not None or split_repo_name(image)[0] != INDEX_NAME


def _image_id(api: APIClient, image: str) -> str | None:
    try:
        inspection = api.inspect_image(image)  # type: ignore[no-untyped-call]  # unannotated
    except NotFound:
        return None
    except APIError as exc:  # an invalid reference, say
        raise RunFailed(f"Image {image} cannot be pulled: {explanation(exc)}") from exc
    image_id: str = inspection["Id"]
    return image_id


def untag(api: APIClient, reference: str, *, force: bool = False) -> bool:
    """With `force`, an image a container uses loses the tag (it stays, untagged)."""
    try:
        api.remove_image(reference, force=force)
    except NotFound:
        return True
    except APIError as exc:
        if exc.status_code == 409:  # conflict: a container uses the image
            return False
        raise
    return True


def auth_config(credentials: RegistryCredentials | None) -> dict[str, str] | None:
    if credentials is None:
        return None
    return {
        "username": credentials.username,
        "password": credentials.password,
        "serveraddress": credentials.registry,
    }


def _pull_status_line(event: dict[str, Any]) -> str:
    status = str(event.get("status", ""))
    return f"{event['id']}: {status}" if "id" in event else status


def _ignore_line(line: str) -> None:
    pass


def _create_and_start(
    api: APIClient, spec: ContainerSpec, storage_bytes: int | None, runtime: str
) -> Inspection:
    """Create the container, write its files, start it; a container that cannot start is
    removed again."""
    archive = _files_archive(spec.files) if spec.files else None
    container_id = _create(api, spec, storage_bytes, runtime)
    try:
        if archive is not None:
            api.put_archive(container_id, "/", archive)
        api.start(container_id)
    except APIError as exc:
        api.remove_container(container_id, force=True)
        raise RunFailed(f"Container {spec.name} cannot start: {explanation(exc)}") from exc
    inspection: Inspection = api.inspect_container(container_id)
    return inspection


def _create(api: APIClient, spec: ContainerSpec, storage_bytes: int | None, runtime: str) -> str:
    host_config = api.create_host_config(
        network_mode=spec.network_mode,
        nano_cpus=spec.nano_cpus,
        mem_limit=spec.memory_bytes,
        # The plan's memory is all a job gets: no swap beyond it (the engine's default, twice
        # the limit, lets a job grow past its plan into the host's swap and thrash it), and
        # none of it where the kernel cannot count swap per container.
        memswap_limit=spec.memory_bytes,
        mem_swappiness=0 if spec.memory_bytes else None,
        pids_limit=_host_tasks_limit(spec.pids_limit, runtime),
        shm_size=spec.shm_size_bytes,
        storage_opt={"size": str(storage_bytes)} if storage_bytes else None,
        runtime=runtime,
        cap_drop=DROPPED_CAPABILITIES,
        security_opt=SECURITY_OPTIONS,
        privileged=False,
    )
    # Nothing of the host goes into a job container: no bind mount, volume or Docker socket.
    assert not host_config.get("Binds") and not host_config.get("Mounts"), host_config
    try:
        created = api.create_container(
            spec.image,
            name=spec.name,
            entrypoint=spec.entrypoint,
            command=spec.command,
            environment=dict(spec.env),
            labels=dict(spec.labels),
            host_config=host_config,
        )
    except APIError as exc:
        if exc.status_code == 409:
            raise ContainerExists(_state(api.inspect_container(spec.name))) from exc
        raise RunFailed(f"Container {spec.name} cannot be created: {explanation(exc)}") from exc
    return str(created["Id"])


def _host_tasks_limit(pids_limit: int | None, runtime: str) -> int | None:
    if pids_limit is None or runtime != RUNSC:
        return pids_limit
    return RUNSC_SANDBOX_TASKS + pids_limit * RUNSC_HOST_TASKS_PER_TASK


def _files_archive(files: Mapping[str, bytes]) -> bytes:
    """A tar of `files` to unpack at `/`. It has no entries for parent dirs: the engine makes
    missing ones (0755, root), while an entry would reset an existing dir's mode and owner
    (/tmp would lose its 1777)."""
    buffer = io.BytesIO()
    now = time.time()
    with tarfile.open(fileobj=buffer, mode="w") as archive:
        for path, content in files.items():
            entry = tarfile.TarInfo(_archive_name(path))
            entry.size = len(content)
            entry.mode = FILE_MODE
            entry.mtime = now
            archive.addfile(entry, io.BytesIO(content))
    return buffer.getvalue()


def _archive_name(path: str) -> str:
    return "/".join(checked_file_path(path).parts[1:])


def checked_file_path(path: str) -> PurePosixPath:
    """`path`, which must be an absolute file path without '..' (RunFailed otherwise)."""
    parts = PurePosixPath(path).parts
    if not path.startswith("/") or path.endswith("/") or ".." in parts or len(parts) < 2:
        raise RunFailed(f"File path {path!r} must be an absolute file path without '..'")
    return PurePosixPath(path)


def _inspect_or_none(api: APIClient, container: str) -> Inspection | None:
    try:
        inspection: Inspection = api.inspect_container(container)
    except NotFound:
        return None
    return inspection


def _exits_within(api: APIClient, container_id: str, seconds: int) -> bool:
    """Whether the container has exited within `seconds`. docker-py reports the read timeout
    as a ConnectionError: an inspect tells it from an engine that is gone (it raises then)."""
    try:
        api.wait(container_id, timeout=seconds)
    except requests.ConnectionError:
        api.inspect_container(container_id)
        return False
    return True


def _stop_if_present(api: APIClient, container_id: str, grace_seconds: int) -> None:
    with suppress(NotFound):
        api.stop(container_id, timeout=grace_seconds)


def _remove_if_present(api: APIClient, container_id: str) -> None:
    with suppress(NotFound):
        api.remove_container(container_id, force=True)


def _start_detached_exec(api: APIClient, container_id: str, command: list[str]) -> str:
    created = api.exec_create(container_id, command, stdout=False, stderr=False)
    exec_id = str(created["Id"])
    api.exec_start(exec_id, detach=True)
    return exec_id


def _exec_exit_code(api: APIClient, exec_id: str) -> int | None:
    details = api.exec_inspect(exec_id)
    if details["Running"] or details["ExitCode"] is None:
        return None
    return int(details["ExitCode"])


def _labelled_states(api: APIClient, selector: str) -> list[LabelledContainer]:
    states = []
    for summary in api.containers(all=True, filters={"label": selector}):
        inspection = _inspect_or_none(api, summary["Id"])
        if inspection is not None:  # None: removed since it was listed
            states.append(LabelledContainer(_state(inspection), summary["Labels"] or {}))
    return states


class Relay(Generic[T]):
    """Items from a thread to the event loop: `put` (in the thread) waits while RELAYED_LINES
    wait already; `batch` (in the loop) is all those waiting, None once the thread is done.

    No lock is taken per item: a lock the loop holds now and then makes the reading thread
    block on it and hand the GIL over, which cost a flood more than reading it. The deque's
    appends and pops are atomic; the thread wakes the loop only when it waits (`waiting`, set
    before the loop looks at the deque a last time, read after the thread has appended)."""

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self.loop = loop
        self.items: deque[T] = deque()
        self.done = False
        self.cancelled = False
        self.waiting = False
        self.ready = asyncio.Event()
        self.roomy = threading.Event()

    def put(self, item: T) -> None:
        if self.cancelled:
            raise RelayCancelled
        self.items.append(item)
        if self.waiting:
            self._wake()
        if len(self.items) >= RELAYED_LINES:
            self.roomy.clear()
            while len(self.items) >= RELAYED_LINES and not self.cancelled:
                self.roomy.wait()

    def _wake(self) -> None:
        self.waiting = False
        self.loop.call_soon_threadsafe(self.ready.set)

    @contextmanager
    def closing(self) -> Iterator[None]:
        try:
            yield
        except RelayCancelled:
            pass
        finally:
            self.done = True
            self._wake()

    async def batch(self) -> list[T] | None:
        while True:
            done = self.done  # read first: all it put before it was done are in the deque
            if count := len(self.items):
                items = [self.items.popleft() for _ in range(count)]
                self.roomy.set()
                return items
            if done:
                return None
            self.ready.clear()
            self.waiting = True
            if not self.items and not self.done:
                await self.ready.wait()
            self.waiting = False

    def cancel(self) -> None:
        self.cancelled = True
        self.roomy.set()


class RelayCancelled(Exception):
    """The event loop no longer takes the relayed items."""


def followed_log(
    api: APIClient, path: str, object_id: str, since: float | None
) -> CancellableStream[bytes]:
    """The log frames of a container or a swarm service (`path`, of `object_id`), followed,
    through the helpers docker-py uses itself (unannotated in its stub). docker-py's
    `logs(follow=True)` reads each frame's header and payload with reads of their own,
    costing more than all the rest of a line's way into the database: here they are cut
    from whatever the engine sent."""
    return _log_frames(api, path, object_id, {"follow": 1, "since": since})


def missed_frames(
    api: APIClient, path: str, object_id: str, since: float | None, last_frame: bytes | None
) -> Iterator[bytes]:
    """The log frames of a container or a swarm service (`path`, of `object_id`) after
    `last_frame` (all from `since` when None), as they are read: found among the last few (a
    last line without a newline) or else read from the time of `last_frame` (the engine
    reads its whole log for either, so a tail grown until it has the frame would cost more);
    none when the log no longer has it."""
    start: float | str | None = since
    if last_frame is not None:
        options = {"since": since, "tail": MISSED_FRAMES_FIRST_READ}
        tail = list(_log_frames(api, path, object_id, options))
        if last_frame in tail:
            yield from tail[tail.index(last_frame) + 1 :]
            return
        start = frame_since(last_frame)
    frames = _log_frames(api, path, object_id, {"since": start})
    yield from frames_past(frames, last_frame)


def frame_since(frame: bytes) -> str:
    """The engine's `since` of a timestamped frame: its time, to the microsecond below."""
    at = datetime.fromisoformat(frame.partition(b" ")[0].decode())
    return f"{int(at.timestamp())}.{at.microsecond:06d}"


def frames_past(frames: Iterable[bytes], last_frame: bytes | None) -> Iterator[bytes]:
    """The frames after the first that is `last_frame` (all when None); none without it."""
    frames = iter(frames)
    if last_frame is not None and last_frame not in frames:  # read up to it
        return
    yield from frames


def _log_frames(
    api: APIClient, path: str, object_id: str, options: Mapping[str, Any]
) -> CancellableStream[bytes]:
    internal: Any = api
    params: dict[str, Any] = {"stdout": 1, "stderr": 1, "timestamps": 1}
    params |= {name: value for name, value in options.items() if value is not None}
    response = internal._get(internal._url(path, object_id), params=params, stream=True)
    internal._raise_for_status(response)
    raw = response.raw
    chunks = (
        raw.read_chunked(decode_content=False)
        if raw.chunked
        else raw.stream(CHUNK_BYTES, decode_content=False)
    )
    return CancellableStream(multiplexed_frames(chunks), response)


def multiplexed_frames(chunks: Iterable[bytes]) -> Iterator[bytes]:
    """The payloads of the engine's stdout/stderr stream (each after an 8-byte header: the
    stream, 3 zero bytes, the payload's size), out of chunks cut anywhere."""
    buffer = b""
    for chunk in chunks:
        buffer = buffer + chunk if buffer else chunk
        start, size = 0, len(buffer)
        while size - start >= FRAME_HEADER.size:
            _, length = FRAME_HEADER.unpack_from(buffer, start)
            end = start + FRAME_HEADER.size + length
            if end > size:
                break
            yield buffer[start + FRAME_HEADER.size : end]
            start = end
        buffer = buffer[start:]


def _one_shot_stats(api: APIClient, container_id: str) -> dict[str, Any] | None:
    try:
        stats: dict[str, Any] = api.stats(container_id, stream=False, one_shot=True)
    except NotFound:
        return None
    return stats


def usage_of(stats: dict[str, Any]) -> ResourceUsage | None:
    """The Engine API's stats (cgroup v1 or v2) as a ResourceUsage; None for a container
    that no longer runs (its memory stats are empty then). The memory in use leaves out the
    inactive page cache, as `docker stats` does."""
    memory = stats.get("memory_stats") or {}
    if "usage" not in memory:
        return None
    details = memory.get("stats") or {}
    inactive = details.get("total_inactive_file", details.get("inactive_file", 0))
    networks = (stats.get("networks") or {}).values()
    disk = (stats.get("blkio_stats") or {}).get("io_service_bytes_recursive") or []
    return ResourceUsage(
        at=docker_time(stats["read"]) or datetime.now(UTC),
        cpu_seconds=stats["cpu_stats"]["cpu_usage"]["total_usage"] / 1e9,
        memory_bytes=max(int(memory["usage"]) - int(inactive), 0),
        memory_peak_bytes=memory.get("max_usage"),
        memory_limit_bytes=memory.get("limit"),
        network_rx_bytes=sum(int(n["rx_bytes"]) for n in networks),
        network_tx_bytes=sum(int(n["tx_bytes"]) for n in networks),
        disk_read_bytes=sum(int(e["value"]) for e in disk if e["op"].lower() == "read"),
        disk_write_bytes=sum(int(e["value"]) for e in disk if e["op"].lower() == "write"),
    )


def remembering(frames: Iterable[bytes], last: deque[bytes]) -> Iterator[bytes]:
    for frame in frames:
        last.append(frame)
        yield frame


def frame_lines(frames: Iterable[bytes]) -> Iterator[tuple[str, datetime]]:
    """The lines of timestamped log frames, each with its frame's time. A frame is one log
    message: a line, or what was written without a newline (at exit, or a 16 KiB piece of a
    longer line). Frames of stdout and stderr interleave, so a frame's tail is joined to the
    next frame only when it is such a piece (the line has its first piece's time): the whole
    line is masked before it is stored cut, or a secret across two pieces would show in both
    halves."""
    piece, piece_at = b"", None
    for frame in frames:
        stamp, _, message = frame.partition(b" ")
        at = piece_at or datetime.fromisoformat(stamp.decode())
        if len(message) == DOCKER_PIECE_BYTES and not message.endswith(b"\n"):
            piece, piece_at = piece + message, at
            continue
        message, piece, piece_at = piece + message, b"", None
        for line in message.removesuffix(b"\n").split(b"\n"):
            yield line.decode(errors="replace"), at
    if piece_at is not None:
        yield piece.decode(errors="replace"), piece_at


def _address(inspection: Inspection) -> str | None:
    if inspection["HostConfig"]["NetworkMode"] == "host":
        return LOOPBACK
    attached = (inspection["NetworkSettings"].get("Networks") or {}).values()
    return next((network["IPAddress"] for network in attached if network["IPAddress"]), None)


def _state(inspection: Inspection) -> ContainerState:
    state = inspection["State"]
    running = bool(state["Running"])
    finished_at = docker_time(state["FinishedAt"])
    return ContainerState(
        id=inspection["Id"],
        running=running,
        exit_code=None if running or finished_at is None else int(state["ExitCode"]),
        started_at=docker_time(state["StartedAt"]),
        finished_at=finished_at,
        oom_killed=bool(state["OOMKilled"]),
    )


def docker_time(value: str) -> datetime | None:
    """Docker's RFC 3339 time (nanoseconds, `Z`) as an aware datetime; None for its zero."""
    if value == DOCKER_ZERO_TIME:
        return None
    return datetime.fromisoformat(value)


def explanation(exc: DockerException) -> str:
    return (exc.explanation if isinstance(exc, APIError) else None) or str(exc)
