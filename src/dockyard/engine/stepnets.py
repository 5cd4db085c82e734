"""A network for buildah's build steps (kaniko builds) where the machine has a Docker engine:
the network namespace of a container on the engine's default bridge, which the build's steps
join (`buildah bud --network=ns:<path>`). They are then contained exactly as BuildKit's steps
on that bridge are (scripts/docker-up.sh): no inter-container traffic, nothing of the host
reachable from the bridge, no traffic to private or loopback networks, and their loopback is
the holder container's own.

The path joined is the namespace file dockerd keeps for the container (its `SandboxKey`), not
`/proc/<pid>/ns/net`: a pid can be reused by another process, possibly one in the host's
namespace, while a sandbox file only ever names that container's namespace and is gone (so a
step fails to start) once the container is. The holder sleeps for no longer than the build
may take and removes itself, so a worker killed mid-build leaves none behind for long.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
from collections.abc import AsyncIterator
from functools import cached_property
from pathlib import Path
from typing import Any

import docker
import docker.errors

from dockyard.errors import EngineUnavailable

LABEL_HOLDER = "dev.dockyard.kaniko-network"
HOLDER_MEMORY = "16m"
HOLDER_PIDS = 4


class StepNetworks:
    """Network namespaces on the default bridge of the engine at `docker_host`, each held by a
    container of `image` (which must have `sleep`, e.g. `local/busybox:1`) for at most
    `seconds` (the longest a build may take)."""

    def __init__(self, docker_host: str, image: str, seconds: float) -> None:
        self.docker_host = docker_host
        self.image = image
        self.seconds = seconds

    @cached_property
    def api(self) -> docker.APIClient:
        """One client (its connection pool) for every build's holder."""
        return docker.APIClient(base_url=self.docker_host)

    @contextlib.asynccontextmanager
    async def held(self, owner: str) -> AsyncIterator[Path]:
        """The path of a network namespace of its own on the default bridge for the block;
        `owner` labels its holder."""
        api = self.api
        try:
            holder = await asyncio.to_thread(self._start, api, owner)
        except docker.errors.DockerException as exc:
            raise EngineUnavailable(f"No network for the build's steps: {exc}") from exc
        try:
            yield await asyncio.to_thread(_namespace, api, holder)
        finally:
            with contextlib.suppress(docker.errors.DockerException):
                await asyncio.shield(asyncio.to_thread(api.remove_container, holder, force=True))

    def _start(self, api: docker.APIClient, owner: str) -> str:
        host_config = api.create_host_config(
            network_mode="bridge",
            auto_remove=True,
            read_only=True,
            cap_drop=["ALL"],
            security_opt=["no-new-privileges"],
            mem_limit=HOLDER_MEMORY,
            pids_limit=HOLDER_PIDS,
        )
        created: dict[str, Any] = api.create_container(
            self.image,
            command=["sleep", str(int(self.seconds) + 1)],
            labels={LABEL_HOLDER: owner},
            host_config=host_config,
        )
        try:
            api.start(created["Id"])
        except docker.errors.DockerException:
            api.remove_container(created["Id"], force=True)
            raise
        return str(created["Id"])


def _namespace(api: docker.APIClient, holder: str) -> Path:
    """The holder's network namespace file, checked to be the namespace its process is in
    (dockerd on this machine) and not the worker's own."""
    found: dict[str, Any] = api.inspect_container(holder)
    sandbox = Path(found["NetworkSettings"].get("SandboxKey") or "")
    pid = found["State"].get("Pid") or 0
    try:
        same = os.stat(sandbox).st_ino == os.stat(f"/proc/{pid}/ns/net").st_ino
        own = os.stat(sandbox).st_ino == os.stat("/proc/self/ns/net").st_ino
    except (FileNotFoundError, PermissionError) as exc:
        raise EngineUnavailable(
            f"No network for the build's steps: the Docker engine's namespaces are not on "
            f"this machine ({exc})"
        ) from exc
    if not pid or not same or own:
        raise EngineUnavailable("No network for the build's steps: the holder's namespace moved")
    return sandbox
