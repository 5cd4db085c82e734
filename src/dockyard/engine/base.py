"""The narrow interfaces the API and the worker use to reach the real world.

Long operations stream every output line of git or docker to an `on_line` callback; it is
called from the event loop and must not block (append to a buffer, write it elsewhere).
Cancelling the task that awaits an operation kills its process: nothing is left running.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Protocol

LineSink = Callable[[str], None]
# A container's output line and when its engine logged it (the engine's clock, to the µs).
TimedLineSink = Callable[[str, datetime], None]
# Awaited by a log follower between batches of lines: it waits while the consumer is full.
Room = Callable[[], Awaitable[None]]


class ContainerEngine(Protocol):
    async def ping(self) -> None:
        """Raise EngineUnavailable unless the engine answers."""


class RegistryClient(Protocol):
    async def ping(self) -> None:
        """Raise EngineUnavailable unless the registry answers its /v2/ endpoint."""

    async def digest(self, repository: str, tag: str) -> str | None:
        """The manifest digest `repository:tag` names in the registry, or None."""


@dataclass(frozen=True)
class GitCredentials:
    """What git answers a server's HTTP authentication with (a VCS link's login and token).
    Git reads them from a credential helper, never from its arguments, a URL or a file."""

    username: str
    token: str = field(repr=False)

    @property
    def secrets(self) -> tuple[str, ...]:
        """The values a log must never show."""
        return (self.token,)


@dataclass(frozen=True)
class SshKey:
    """What git authenticates to an ssh server with (a VCS link's deploy key): `username`
    is the ssh user (used when the URL names none), `private_key` the OpenSSH private key,
    `host_key` the server's pinned public host key (`type base64`), or None when the first
    connection is to record it (trust on first use). The key reaches ssh as a file of mode
    0600 in a private temporary dir, removed after each git command, never as an argument."""

    username: str
    private_key: bytes = field(repr=False)
    host_key: str | None = None

    @property
    def secrets(self) -> tuple[str, ...]:
        """The values a log must never show: each line of the private key's body."""
        lines = self.private_key.decode().splitlines()
        return tuple(line for line in lines if line and not line.startswith("-----"))


# How git authenticates to a VCS link's server: a token over HTTPS or a deploy key over ssh.
Credentials = GitCredentials | SshKey


class GitClient(Protocol):
    def mapped(self, url: str) -> str:
        """`url` as the server's insteadOf rules rewrite it (no check, no lookup)."""

    async def resolve(self, url: str, ref: str, *, credentials: Credentials | None = None) -> str:
        """The commit sha `ref` points at in the remote `url`; `ref` is a branch name or a full
        ref (`refs/pull/7/head`). GitError when the ref does not exist, GitAuthFailed when the
        server refuses (or asks for) credentials."""

    async def branches(self, url: str, *, credentials: Credentials | None = None) -> dict[str, str]:
        """Every branch of the remote `url` (name: sha), as `git ls-remote --heads` lists it."""

    async def host_key(self, url: str) -> str:
        """The public host key (`type base64`) of the ssh server of repository `url`."""

    async def checkout(
        self,
        url: str,
        sha: str,
        dest: Path,
        *,
        full_clone: bool = False,
        keep_git_dir: bool = False,
        ref: str | None = None,
        on_line: LineSink | None = None,
        cache: Path | None = None,
        credentials: Credentials | None = None,
    ) -> None:
        """The tree of commit `sha` into the empty (or absent) dir `dest`; shallow unless
        `full_clone`; `.git` removed unless `keep_git_dir`; `ref` (a PR ref) is fetched first
        when the sha may be reachable only from it; through the bare repository `cache`, kept
        between calls, when given. GitError when the sha does not exist."""


class ImageBuilder(Protocol):
    async def build(
        self,
        source_dir: Path,
        *,
        tag: str,
        dockerfile: str = "/Dockerfile",
        context: str = "/",
        target: str | None = None,
        build_args: Mapping[str, str] | None = None,
        secrets: Mapping[str, bytes] | None = None,
        use_cache: bool = True,
        labels: Mapping[str, str] | None = None,
        registry_logins: Sequence[RegistryCredentials] = (),
        on_line: LineSink | None = None,
        usage_key: str | None = None,
    ) -> str:
        """Build the image of `dockerfile` with `context` (both relative to `source_dir`, which
        they must stay inside), tag it `tag` and return its image id. `secrets` become
        BuildKit secret mounts (`RUN --mount=type=secret,id=NAME`), never in the image.
        BuildFailed (failing step and last lines) when the build fails. With `usage_key`,
        `usage(usage_key)` tells what the build uses while it runs."""

    async def usage(self, key: str, /) -> ResourceUsage | None:
        """What the build `key` has used so far: CPU, memory and disk of its steps (no
        network); None when nothing of it runs."""


class UsageReader(Protocol):
    """What the sampler reads: a container engine (by container id) or an image builder (by
    the build's usage key)."""

    async def usage(self, key: str, /) -> ResourceUsage | None: ...


class ImagePusher(Protocol):
    async def push(self, image: str, reference: str, *, on_line: LineSink | None = None) -> str:
        """Tag the local `image` as `reference` (`registry/project/name:sha`), push it and
        return the pushed manifest digest."""

    async def untag(self, reference: str) -> None:
        """Drop the engine's tag `reference` (the image goes with its last tag)."""


@dataclass(frozen=True)
class ContainerSpec:
    """One attempt of a job run as a container. `name` is unique per attempt: the engine
    refuses a second container of that name, so an attempt never runs twice."""

    name: str
    image: str
    entrypoint: list[str] | None = None  # None: the image's own
    command: list[str] | None = None  # None: the image's own
    env: Mapping[str, str] = field(default_factory=dict)
    files: Mapping[str, bytes] = field(default_factory=dict)  # absolute path -> content
    labels: Mapping[str, str] = field(default_factory=dict)
    # none | bridge | a network's id | host (unsafe: the machine's own network and loopback)
    network_mode: str = "host"
    nano_cpus: int | None = None
    memory_bytes: int | None = None
    pids_limit: int | None = None  # tasks (processes and threads) the container may have
    shm_size_bytes: int | None = None
    storage_bytes: int | None = None  # limit of the container's writable layer


@dataclass(frozen=True)
class ContainerState:
    id: str
    running: bool
    exit_code: int | None  # None while running or never started
    started_at: datetime | None
    finished_at: datetime | None
    oom_killed: bool = False


@dataclass(frozen=True)
class ResourceUsage:
    """What a running container has used, as its engine read it at `at`: counters (CPU
    seconds, bytes moved) from its start, the memory in use and the most it has used
    (`memory_peak_bytes`: the kernel's high-water mark, None where the engine has none)."""

    at: datetime
    cpu_seconds: float
    memory_bytes: int
    memory_peak_bytes: int | None
    memory_limit_bytes: int | None
    network_rx_bytes: int
    network_tx_bytes: int
    disk_read_bytes: int
    disk_write_bytes: int


@dataclass(frozen=True)
class LabelledContainer:
    state: ContainerState
    labels: Mapping[str, str]


@dataclass(frozen=True)
class RegistryCredentials:
    registry: str
    username: str
    password: str


class ContainerExists(Exception):
    """A container of that name exists already: reattach to it instead."""

    def __init__(self, state: ContainerState) -> None:
        super().__init__(state.id)
        self.state = state


class JobContainers(ContainerEngine, Protocol):
    """The containers of job runs (engine/containers.py: the Docker Engine API)."""

    async def architecture(self) -> str:
        """The engine's CPU architecture as the spec names it: "x86" or "arm"."""

    async def supports_storage_limit(self) -> bool:
        """Whether `ContainerSpec.storage_bytes` is enforced (overlay2 on xfs with pquota)."""

    async def runtime(self) -> str:
        """The OCI runtime job containers run under (`runc`, `runsc`)."""

    async def ensure_image(
        self,
        image: str,
        credentials: RegistryCredentials | None = None,
        *,
        on_line: LineSink | None = None,
    ) -> str:
        """Pull `image` (unless it is a Docker Hub name the engine has); what to create the
        container from (`ContainerSpec.image`). EngineUnavailable / RunFailed."""

    async def start(self, spec: ContainerSpec) -> ContainerState:
        """Create the container, write `spec.files` into it, start it. ContainerExists when
        one of that name is there already."""

    async def find(self, name: str) -> ContainerState | None:
        """The container of that name, if any."""

    async def wait(self, container_id: str) -> ContainerState:
        """Until the container has exited; its final state."""

    async def follow_logs(
        self,
        container_id: str,
        on_line: TimedLineSink,
        *,
        since: datetime | None = None,
        room: Room | None = None,
    ) -> None:
        """Every stdout/stderr line, with its time, from `since` (default: the start; lines
        at `since` itself included) until the container exits; `room`, if given, awaited
        between batches of lines (the engine keeps the container's output meanwhile)."""

    async def stop(self, container_id: str, grace_seconds: float) -> None:
        """SIGTERM, then SIGKILL after `grace_seconds`; no error if it has already exited."""

    async def remove(self, container_id: str) -> None:
        """Remove the (stopped) container; no error if it is gone."""

    async def exec(self, container_id: str, command: list[str], timeout: float) -> int:
        """Run `command` inside the running container; its exit code (TimeoutError after
        `timeout` seconds)."""

    async def labelled(self, key: str, value: str | None = None) -> list[LabelledContainer]:
        """Containers (running or not) carrying label `key` (with `value`, if given), with
        all their labels."""

    async def usage(self, container_id: str) -> ResourceUsage | None:
        """What the running container has used so far (one read, no waiting); None when the
        engine cannot tell (the container has exited, or runs where this engine cannot see)."""

    async def address(self, container_id: str) -> str | None:
        """Where this machine connects to the running container (its IP address on its
        network, 127.0.0.1 on the host's); None when it has none (the `none` network)."""

    async def project_network(self, installation: str, project_id: str) -> str:
        """The network the project's containers join (its own, created if need be), as
        `ContainerSpec.network_mode` names it. `installation` tells this dockyard's networks
        from those of another on the same engine."""
