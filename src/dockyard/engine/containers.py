"""The Docker Engine API through docker-py (blocking calls run in threads)."""

from __future__ import annotations

import asyncio
from functools import cached_property

import docker
from docker.errors import DockerException

from dockyard.errors import EngineUnavailable

API_TIMEOUT_SECONDS = 30


class DockerEngine:
    def __init__(self, docker_host: str) -> None:
        self.docker_host = docker_host

    @cached_property
    def client(self) -> docker.DockerClient:
        return docker.DockerClient(base_url=self.docker_host, timeout=API_TIMEOUT_SECONDS)

    def ping_sync(self) -> None:
        try:
            self.client.ping()
        except (DockerException, OSError) as exc:
            raise EngineUnavailable(
                f"Docker engine at {self.docker_host} did not answer: {exc}"
            ) from exc

    async def ping(self) -> None:
        await asyncio.to_thread(self.ping_sync)
