"""A live `dockyard up` (API + worker + local registry) on the real Docker engine, building
from local bare git repositories reached as https://git.example.test/... through insteadOf."""

from __future__ import annotations

import base64
import contextlib
import json
import signal
import sqlite3
import subprocess
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from dockyard.engine.base import RegistryCredentials
from dockyard.engine.dockercli import DOCKER_CLI
from tests.gitrepos import SampleRepo, make_sample_repo
from tests.live import DOCKER_HOST, DockyardProcess

CONCLUDE_TIMEOUT = 180.0


def is_concluded(build: dict[str, Any]) -> bool:
    return bool(build["concluded"])


def docker_config(directory: Path, *logins: RegistryCredentials) -> Path:
    """`directory`, made a docker client configuration holding only these logins (none: an
    anonymous client)."""
    directory.mkdir(parents=True)
    auths = {
        login.registry: {
            "auth": base64.b64encode(f"{login.username}:{login.password}".encode()).decode()
        }
        for login in logins
    }
    (directory / "config.json").write_text(json.dumps({"auths": auths}))
    return directory


def log_lines(data_dir: Path, owner_kind: str, owner_id: str) -> list[str]:
    """The stored output lines of a build or run, read from the server's SQLite file."""
    with contextlib.closing(sqlite3.connect(data_dir / "dockyard.db")) as db:
        rows = db.execute(
            "SELECT line FROM log_lines WHERE owner_kind = ? AND owner_id = ? ORDER BY pk",
            (owner_kind, owner_id),
        )
        return [line for (line,) in rows]


@dataclass
class LiveDockyard:
    process: DockyardProcess
    http: httpx.Client
    sample: SampleRepo
    project: str

    @property
    def registry(self) -> str:
        return f"127.0.0.1:{self.process.registry_port}"

    @property
    def registry_login(self) -> RegistryCredentials:
        """dockyard's login to the registry it started (the password in its data dir)."""
        password = (self.process.data_dir / "registry" / "password").read_text()
        return RegistryCredentials(self.registry, "dockyard", password)

    def post(self, path: str, body: dict[str, Any]) -> dict[str, Any]:
        response = self.http.post(f"/v1/projects/{self.project}{path}", json=body)
        assert response.status_code == 200, response.text
        data: dict[str, Any] = response.json()["data"]
        return data

    def get(self, path: str) -> dict[str, Any]:
        response = self.http.get(f"/v1/projects/{self.project}{path}")
        assert response.status_code == 200, response.text
        data: dict[str, Any] = response.json()["data"]
        return data

    def wait_for(
        self,
        path: str,
        done: Any = lambda build: build["concluded"],
        timeout: float = CONCLUDE_TIMEOUT,
    ) -> dict[str, Any]:
        """Poll GET `path` (a build) until `done(build)`."""
        deadline = time.monotonic() + timeout
        while True:
            build = self.get(path)
            if done(build):
                return build
            if time.monotonic() > deadline:
                pytest.fail(f"{path} still {build['status']} after {timeout} s")
            time.sleep(0.2)

    def lines(self, build_id: str) -> list[str]:
        return log_lines(self.process.data_dir, "build", build_id)

    def lines_of(self, owner_kind: str, owner_id: str) -> list[str]:
        return log_lines(self.process.data_dir, owner_kind, owner_id)

    def delete(self, path: str) -> httpx.Response:
        return self.http.delete(f"/v1/projects/{self.project}{path}")


# The engines of Dockerfile builds: BuildKit (the Docker engine) and kaniko (buildah).
ENGINES = ("buildkit", "kaniko")


def push_base_image(live: LiveDockyard) -> None:
    """local/busybox:1 into dockyard's registry as `local/busybox:1`, where buildah (kaniko
    builds, which have no Docker engine to look in) finds it."""
    pushed = f"{live.registry}/local/busybox:1"
    env = {"DOCKER_HOST": DOCKER_HOST}
    with tempfile.TemporaryDirectory() as scratch:
        config = docker_config(Path(scratch) / "docker", live.registry_login)
        for args in (["tag", "local/busybox:1", pushed], ["push", "--quiet", pushed]):
            subprocess.run(
                [DOCKER_CLI, *args],
                check=True,
                env=env | {"DOCKER_CONFIG": str(config)},
                capture_output=True,
            )
    subprocess.run([DOCKER_CLI, "rmi", pushed], env=env, check=True, capture_output=True)


def start_live(root: Path, sample: SampleRepo, **env: str) -> DockyardProcess:
    process = DockyardProcess(
        data_dir=root / "dockyard",
        env={
            "DOCKYARD_GIT_INSTEADOF": json.dumps(sample.repo.insteadof),
            "DOCKYARD_WORKER_LEASE_SECONDS": "3",
            "DOCKYARD_WORKER_POLL_SECONDS": "0.5",
            # The tests serve bundles from this machine, which is refused by default.
            "DOCKYARD_FETCH_ALLOW": json.dumps(["127.0.0.0/8"]),
            **env,
        },
    ).start()
    process.wait_ready()
    return process


@contextlib.contextmanager
def live_with_project(
    root: Path, sample: SampleRepo, project: str, **env: str
) -> Iterator[LiveDockyard]:
    """A live dockyard on `sample`'s repositories (its environment added `env`) with a project
    named `project`, stopped after."""
    process = start_live(root, sample, **env)
    token = process.admin_token()
    assert token, process.output()
    try:
        with httpx.Client(
            base_url=process.url, headers={"Authorization": f"Bearer {token}"}, timeout=30
        ) as http:
            created = http.post("/v1/projects", json={"name": project})
            assert created.status_code == 200, created.text
            live = LiveDockyard(process, http, sample, created.json()["data"]["id"])
            push_base_image(live)
            yield live
    finally:
        process.stop(signal.SIGTERM)


@pytest.fixture(scope="module")
def live(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveDockyard]:
    root = tmp_path_factory.mktemp("live")
    sample = make_sample_repo(root / "git")
    with live_with_project(root, sample, "Builds", DOCKYARD_USAGE_SAMPLE_SECONDS="0.5") as live:
        yield live
