"""Debian's docker CLI, the one with BuildKit built in (a newer `docker` earlier on PATH may
lack buildx), run against the configured engine."""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path

from dockyard.engine import process
from dockyard.engine.base import LineSink
from dockyard.errors import EngineUnavailable

DOCKER_CLI = "/usr/bin/docker"
DAEMON_DOWN = "cannot connect to the docker daemon"


class DockerCli:
    def __init__(self, docker_host: str) -> None:
        self.docker_host = docker_host

    async def run(
        self,
        args: Sequence[str],
        *,
        on_line: LineSink | None = None,
        config_dir: Path | None = None,
    ) -> process.Completed:
        """Run `docker <args>` (with the client configuration of `config_dir`, if given:
        registry logins); EngineUnavailable when the CLI or the engine is missing."""
        env = {**os.environ, "DOCKER_HOST": self.docker_host, "DOCKER_BUILDKIT": "1"}
        if config_dir is not None:
            env["DOCKER_CONFIG"] = str(config_dir)
        try:
            completed = await process.run([DOCKER_CLI, *args], env=env, on_line=on_line)
        except FileNotFoundError as exc:
            raise EngineUnavailable(
                f"{DOCKER_CLI} is missing (apt-get install docker.io): {exc}"
            ) from exc
        if not completed.ok and any(DAEMON_DOWN in line.lower() for line in completed.tail):
            raise EngineUnavailable(f"Docker engine at {self.docker_host} did not answer")
        return completed
