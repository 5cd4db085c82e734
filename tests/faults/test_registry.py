"""Registry faults on a live `dockyard up` and the registry it runs: down during a build's
push and back, down when a run pulls its image, and full. Back-offs are scaled down
(DOCKYARD_REGISTRY_RETRY_SCALE, DOCKYARD_RUN_BACKOFF_SCALE) so the bounds are reached fast."""

from __future__ import annotations

import base64
import contextlib
import json
import os
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import docker
import httpx
import pytest

from tests.faults.registry import (
    kill_registry,
    registry_down,
    registry_gone,
    registry_login,
    registry_pid,
    registry_storage_of,
    registry_tags,
    resize_registry_storage,
    wait_until_registry_answers,
)
from tests.gitrepos import GitRepo, make_sample_repo
from tests.live import DOCKER_HOST, DockyardProcess
from tests.reliability.soak import (
    BUILD_JOB,
    ContainerWatch,
    api_client,
    build_job_body,
    data_of,
    remove_containers,
    remove_images,
)

pytestmark = pytest.mark.e2e

PROJECT = "registry-faults"
BACKOFF_LIMIT = 3
CONCLUDED_WITHIN_SECONDS = 90.0
SERVER_ENV = {
    "DOCKYARD_REGISTRY_RETRY_SCALE": "0.05",  # 0.05, 0.1, 0.2, 0.4 s
    "DOCKYARD_RUN_BACKOFF_SCALE": "0.05",  # 0.5, 1, 2 s
    "DOCKYARD_WORKER_POLL_SECONDS": "0.2",
    "DOCKYARD_BUILD_NETWORK": "none",
}


@dataclass
class Installation:
    server: DockyardProcess
    http: httpx.Client
    repo: GitRepo

    @property
    def registry(self) -> str:
        return f"127.0.0.1:{self.server.registry_port}"

    @property
    def data_dir(self) -> Path:
        return self.server.data_dir

    def build(self, sha: str) -> dict[str, Any]:
        """A build of `sha`, once concluded."""
        build_id = data_of(self.http.post(f"/jobs/{BUILD_JOB}/build", json={"sha": sha}))["id"]
        return self.concluded(f"/jobs/{BUILD_JOB}/build/{build_id}")

    def run(self) -> str:
        return str(data_of(self.http.post(f"/jobs/{BUILD_JOB}/runs", json={}))["id"])

    def concluded(self, path: str) -> dict[str, Any]:
        deadline = time.monotonic() + CONCLUDED_WITHIN_SECONDS
        while not (row := data_of(self.http.get(path)))["concluded"]:
            assert time.monotonic() < deadline, f"{path} not concluded: {row}"
            time.sleep(0.2)
        return dict(row)

    def run_log(self, run_id: str) -> list[str]:
        lines = data_of(self.http.get(f"/jobs/{BUILD_JOB}/logs", params={"runId": run_id}))
        return [line["log"] for line in lines]

    def pull(self, build: dict[str, Any]) -> None:
        """Pull the build's image from the registry as a run would (by digest), then drop
        the local copy again."""
        reference = f"{build['registry']['uri'].rpartition(':')[0]}@{build['registry']['digest']}"
        username, password = registry_login(self.data_dir)
        with docker.APIClient(base_url=DOCKER_HOST) as api:
            api.pull(reference, auth_config={"username": username, "password": password})
            api.remove_image(reference)


@contextlib.contextmanager
def installation(root: Path) -> Iterator[Installation]:
    """`dockyard up` with a project and a job built from a sample repository, whose runs
    print the image's /hello.txt and retry up to BACKOFF_LIMIT times. Stopped, it leaves no
    registry process behind (not even one it started again)."""
    sample = make_sample_repo(root / "git")
    env = {**SERVER_ENV, "DOCKYARD_GIT_INSTEADOF": json.dumps(sample.repo.insteadof)}
    server = DockyardProcess(data_dir=root / "dockyard", env=env)
    try:
        server.start().wait_ready()
        token = server.admin_token()
        assert token, server.output()
        with api_client(server.url, token) as http:
            data_of(http.post("/projects", json={"name": PROJECT}))
        with api_client(server.url, token, PROJECT) as http:
            job = build_job_body(sample.repo)
            job["backoffLimit"] = BACKOFF_LIMIT
            job["deployment"]["docker"] = {
                "configType": "customEntrypointCustomCommand",
                "customEntrypoint": "sh",
                "customCommand": "-c 'cat /hello.txt'",
            }
            data_of(http.post("/jobs/manual", json=job))
            yield Installation(server, http, sample.repo)
    finally:
        server.stop()
        remove_containers(PROJECT)
        remove_images(f"127.0.0.1:{server.registry_port}/{PROJECT}/")
    assert registry_gone(server.data_dir), "dockyard up left its registry running"


@pytest.fixture(scope="module")
def live(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Installation]:
    """One installation for the down-and-back cases, its job's image built once."""
    with installation(tmp_path_factory.mktemp("registry-faults")) as live:
        head = live.repo.head_of("main")
        assert head is not None
        assert live.build(head)["status"] == "SUCCESS", live.server.output()
        yield live


def latest_success(live: Installation) -> dict[str, Any]:
    builds = data_of(live.http.get(f"/jobs/{BUILD_JOB}/build"))["builds"]
    return next(build for build in builds if build["status"] == "SUCCESS")


def test_push_while_the_registry_is_down_fails_and_builds_succeed_once_it_is_back(
    live: Installation,
) -> None:
    """The registry stops answering before a build pushes: the build ends FAILURE with
    "registry unavailable after 5 tries" in its message and its log, and records no image.
    Once the registry is back the images pushed before are still pullable and the same
    commit builds and pushes."""
    before = latest_success(live)
    sha = live.repo.commit({"hello.txt": "hello while the registry is down\n"}, "down")
    with registry_down(live.data_dir, live.registry):
        failed = live.build(sha)
    assert failed["status"] == "FAILURE", failed
    assert "registry unavailable after 5 tries" in failed["message"], failed
    assert failed.get("registry") is None, failed
    log = data_of(live.http.get(f"/jobs/{BUILD_JOB}/build-logs", params={"buildId": failed["id"]}))
    assert any("pushing again" in line["log"] for line in log), log

    live.pull(before)
    assert live.build(sha)["status"] == "SUCCESS"


def test_a_registry_that_dies_is_started_again_by_dockyard_up(live: Installation) -> None:
    """The registry process dies (a crash, the OOM killer): `dockyard up` starts it again
    at once, on the same storage; its images are still pullable and builds push again,
    without restarting dockyard."""
    killed = kill_registry(live.data_dir)
    wait_until_registry_answers(live.registry)
    assert registry_pid(live.data_dir) not in (None, killed)
    live.pull(latest_success(live))
    sha = live.repo.commit({"hello.txt": "hello after a registry crash\n"}, "crash")
    assert live.build(sha)["status"] == "SUCCESS"


def test_a_run_whose_image_cannot_be_pulled_fails_each_attempt_with_the_reason(
    live: Installation,
) -> None:
    """The registry is down for the whole run: each attempt's pull is tried 5 times, then
    the attempt fails with the pull's reason (no container is created) and is retried under
    backoffLimit; the run ends FAILED, BackoffLimitExceeded, naming the registry."""
    watch = ContainerWatch(PROJECT)
    watch.start()
    try:
        with registry_down(live.data_dir, live.registry):
            run_id = live.run()
            run = live.concluded(f"/jobs/{BUILD_JOB}/runs/{run_id}")
    finally:
        watch.close()
    assert (run["status"], run["succeeded"], run["failed"]) == ("FAILED", 0, BACKOFF_LIMIT + 1)
    assert "BackoffLimitExceeded" in run["message"], run
    assert "registry unavailable after 5 tries" in run["message"], run
    assert "cannot be pulled" in run["message"] and "Traceback" not in run["message"], run
    log = live.run_log(run_id)
    for attempt in range(1, BACKOFF_LIMIT + 2):
        assert any(f"Attempt {attempt}: registry unavailable" in line for line in log), log
    assert watch.attempts_of(run_id) == {}


def test_a_run_succeeds_when_the_registry_is_back_before_its_retries_end(
    live: Installation,
) -> None:
    """The registry is down when a run starts and back after its first attempt failed to
    pull: a later attempt pulls and succeeds. Exactly one container ran, for that attempt."""
    watch = ContainerWatch(PROJECT)
    watch.start()
    try:
        with registry_down(live.data_dir, live.registry):
            run_id = live.run()
            deadline = time.monotonic() + CONCLUDED_WITHIN_SECONDS
            while not any(line.startswith("Attempt 1: ") for line in live.run_log(run_id)):
                assert time.monotonic() < deadline, live.run_log(run_id)
                time.sleep(0.2)
        run = live.concluded(f"/jobs/{BUILD_JOB}/runs/{run_id}")
    finally:
        watch.close()
    assert run["status"] == "SUCCESS" and run["succeeded"] == 1, run
    assert 1 <= run["failed"] <= BACKOFF_LIMIT, run
    assert watch.attempts_of(run_id) == {run["failed"] + 1: 1}
    assert any(line.startswith("hello") for line in live.run_log(run_id))


REGISTRY_STORAGE_MB = 4
LARGE_FILE_BYTES = 6 * 1024 * 1024  # random, so it compresses to no less


def test_a_push_to_a_full_registry_fails_naming_the_cause_and_leaves_no_tag(
    tmp_path: Path,
) -> None:
    """The registry's storage (a 4 MB tmpfs) has no room for a build's image: the build ends
    FAILURE naming the cause ("the registry's storage is full", "no space left on device")
    without dockerd's 50 s of retries, records no image, and leaves no tag in the registry or
    on the engine. The images pushed before stay pullable; once space is freed the same
    commit builds and pushes."""
    data_dir = tmp_path / "dockyard"
    with (
        registry_storage_of(data_dir, REGISTRY_STORAGE_MB) as storage,
        installation(tmp_path) as live,
    ):
        head = live.repo.head_of("main")
        assert head is not None
        small = live.build(head)
        assert small["status"] == "SUCCESS", live.server.output()
        large = base64.b64encode(os.urandom(LARGE_FILE_BYTES * 3 // 4)).decode()
        sha = live.repo.commit({"large.txt": large}, "too large for the registry")

        failed = live.build(sha)
        assert failed["status"] == "FAILURE", failed
        assert "the registry's storage is full" in failed["message"], failed
        assert "no space left on device" in failed["message"], failed
        assert failed.get("registry") is None, failed
        repository = f"{PROJECT}/{BUILD_JOB}"
        assert registry_tags(data_dir, live.registry, repository) == [head]
        with docker.APIClient(base_url=DOCKER_HOST) as api:
            assert not api.images(name=f"{live.registry}/{repository}:{sha}")
        live.pull(small)

        resize_registry_storage(storage, 64)
        assert live.build(sha)["status"] == "SUCCESS"
        assert sorted(registry_tags(data_dir, live.registry, repository)) == sorted([head, sha])
