"""Debian's docker CLI, the one with BuildKit built in (a newer `docker` earlier on PATH may
lack buildx), run against the configured engine."""

from __future__ import annotations

import base64
import json
import os
import re
from collections.abc import Mapping, Sequence
from pathlib import Path

from dockyard.engine import process
from dockyard.engine.base import LineSink, RegistryCredentials
from dockyard.errors import EngineUnavailable

DOCKER_CLI = "/usr/bin/docker"
DAEMON_DOWN = "cannot connect to the docker daemon"
# The CLI's last line when its connection to the engine broke mid-command, the engine
# restarted or killed: bare (a registry's failures come as the engine's messages), or, for a
# build with --iidfile, that the image id never came.
CONNECTION_CUT = re.compile(
    r"unexpected EOF|cannot write \S+ because server did not provide an image ID"
)
# What the CLI reads of the worker's environment: its own DOCKER_* settings (TLS of a tcp://
# engine), the proxy of a remote engine and the CA store. Nothing else of dockyard's
# environment (its DOCKYARD_* secrets) reaches the CLI or the helpers it starts.
PASSED_ENV = frozenset(
    {"PATH", "HOME", "TMPDIR", "SSL_CERT_FILE", "SSL_CERT_DIR"}
    | {"HTTP_PROXY", "HTTPS_PROXY", "NO_PROXY", "http_proxy", "https_proxy", "no_proxy"}
)


class DockerCli:
    def __init__(self, docker_host: str) -> None:
        self.docker_host = docker_host

    async def run(
        self,
        args: Sequence[str],
        *,
        on_line: LineSink | None = None,
        config_dir: Path | None = None,
        extra_env: Mapping[str, str] | None = None,
    ) -> process.Completed:
        """Run `docker <args>` (with the client configuration of `config_dir`, if given:
        registry logins) with `extra_env` added to its environment; EngineUnavailable when
        the CLI or the engine is missing."""
        env = {
            **{
                name: value
                for name, value in os.environ.items()
                if name in PASSED_ENV or name.startswith("DOCKER_")
            },
            **(extra_env or {}),
            "DOCKER_HOST": self.docker_host,
            "DOCKER_BUILDKIT": "1",
        }
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
        if not completed.ok and completed.tail and CONNECTION_CUT.fullmatch(completed.tail[-1]):
            raise EngineUnavailable(
                f"The Docker engine at {self.docker_host} went away during `docker {args[0]}` "
                f"(restarted or killed): {completed.tail[-1]}"
            )
        return completed


def client_config(scratch: Path, logins: Sequence[RegistryCredentials]) -> Path | None:
    """A docker client configuration (0600) under `scratch` holding only these registry
    logins; None without any."""
    if not logins:
        return None
    auths = {
        login.registry: {
            "auth": base64.b64encode(f"{login.username}:{login.password}".encode()).decode()
        }
        for login in logins
    }
    config_dir = scratch / "docker-config"
    config_dir.mkdir(mode=0o700)
    descriptor = os.open(config_dir / "config.json", os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(descriptor, "w") as handle:
        json.dump({"auths": auths}, handle)
    return config_dir
