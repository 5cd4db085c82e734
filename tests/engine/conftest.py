"""Fixtures of engine tests: a sample git repo, the real Docker engine, a real registry."""

from __future__ import annotations

import os
import secrets
import subprocess
from collections.abc import Iterator
from pathlib import Path

import docker
import pytest

from dockyard.engine.base import RegistryCredentials
from dockyard.engine.git import GitClient
from dockyard.engine.registry import start_local_registry
from tests.gitrepos import SampleRepo, make_sample_repo
from tests.live import free_port

DOCKER_HOST = os.environ.get("DOCKER_HOST", "unix:///var/run/docker.sock")
# The job containers' runtime, as the worker would be told (run the tests again with runsc).
CONTAINER_RUNTIME = os.environ.get("DOCKYARD_CONTAINER_RUNTIME", "runc")


def processes_mentioning(marker: str) -> list[str]:
    """Command lines of the live processes whose command line contains `marker`."""
    found = []
    for entry in Path("/proc").iterdir():
        try:
            cmdline = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode()
        except (OSError, UnicodeDecodeError):
            continue
        if marker in cmdline:
            found.append(cmdline)
    return found


@pytest.fixture
def sample(tmp_path: Path) -> SampleRepo:
    return make_sample_repo(tmp_path / "git")


@pytest.fixture
def git_client(sample: SampleRepo) -> GitClient:
    return GitClient(sample.repo.insteadof)


@pytest.fixture(scope="session")
def docker_client() -> docker.DockerClient:
    """The real engine; tests fail (not skip) without it: run scripts/docker-up.sh."""
    client = docker.DockerClient(base_url=DOCKER_HOST)
    try:
        client.ping()
    except Exception as exc:
        pytest.fail(f"no Docker engine at {DOCKER_HOST} ({exc}); run scripts/docker-up.sh")
    return client


@pytest.fixture(scope="session")
def registry_login(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RegistryCredentials]:
    """A local registry (htpasswd auth, as `dockyard up` starts it) and its only login."""
    login = RegistryCredentials(
        f"127.0.0.1:{free_port()}", "dockyard-test", secrets.token_urlsafe(16)
    )
    process = start_local_registry(login.registry, tmp_path_factory.mktemp("registry"), login)
    try:
        yield login
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()


@pytest.fixture(scope="session")
def registry_address(registry_login: RegistryCredentials) -> str:
    return registry_login.registry
