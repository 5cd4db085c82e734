"""Live dockyard processes on the real Docker engine and a real registry."""

from __future__ import annotations

import signal
from collections.abc import Iterator
from pathlib import Path

import docker
import pytest

from tests.live import DOCKER_HOST, DockyardProcess


@pytest.fixture(scope="session")
def docker_engine() -> docker.DockerClient:
    """The real engine; e2e tests fail (not skip) without it: run scripts/docker-up.sh."""
    client = docker.DockerClient(base_url=DOCKER_HOST)
    try:
        client.ping()
    except Exception as exc:
        pytest.fail(f"no Docker engine at {DOCKER_HOST} ({exc}); run scripts/docker-up.sh")
    return client


@pytest.fixture
def dockyard_process(
    tmp_path: Path, docker_engine: docker.DockerClient
) -> Iterator[DockyardProcess]:
    process = DockyardProcess(data_dir=tmp_path / "dockyard")
    yield process
    if process.process is not None:
        process.stop(signal.SIGKILL)
