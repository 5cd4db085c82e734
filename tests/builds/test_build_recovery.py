"""Nothing lost: a build whose server is killed (SIGKILL) or stopped mid-way is concluded
after a restart, exactly once."""

from __future__ import annotations

import signal
import time
import uuid
from pathlib import Path

import httpx
import pytest

from tests.builds.conftest import ENGINES, LiveDockyard, push_base_image, start_live
from tests.builds.test_job_builds import buildah_containers, image_file, vcs_job
from tests.gitrepos import SampleRepo, make_sample_repo

# The nonce keeps BuildKit's cache from finishing the build before it can be interrupted.
SLOW_DOCKERFILE = "FROM local/busybox:1\nRUN echo {nonce} && sleep 4 && echo slow > /slow.txt\n"


@pytest.fixture
def nonce() -> str:
    return str(uuid.uuid4())


@pytest.fixture
def sample(tmp_path: Path, nonce: str) -> SampleRepo:
    sample = make_sample_repo(tmp_path / "git")
    sample.repo.commit({"Dockerfile": SLOW_DOCKERFILE.format(nonce=nonce)}, "slow")
    return sample


def connect(tmp_path: Path, sample: SampleRepo, token: str | None, **env: str) -> LiveDockyard:
    process = start_live(tmp_path, sample, **env)
    token = token or process.admin_token()
    assert token, process.output()
    http = httpx.Client(
        base_url=process.url, headers={"Authorization": f"Bearer {token}"}, timeout=30
    )
    return LiveDockyard(process, http, sample, project="recovery")


def start_slow_build(live: LiveDockyard, nonce: str, engine: str = "buildkit") -> str:
    """The path of a build of the slow Dockerfile, once its RUN step is running."""
    assert live.http.post("/v1/projects", json={"name": "Recovery"}).status_code == 200
    if engine == "kaniko":
        push_base_image(live)
    job = vcs_job(live, "slow", engine)
    build_id: str = live.post(f"/jobs/{job}/build", {})["id"]
    deadline = time.monotonic() + 60
    while not any(line.endswith(nonce) for line in live.lines(build_id)):  # its echo ran
        assert time.monotonic() < deadline, live.lines(build_id)
        time.sleep(0.1)
    return f"/jobs/{job}/build/{build_id}"


def restart(
    tmp_path: Path, sample: SampleRepo, live: LiveDockyard, sig: int, **env: str
) -> LiveDockyard:
    token = live.http.headers["Authorization"].removeprefix("Bearer ")
    live.process.stop(sig)
    live.http.close()
    return connect(tmp_path, sample, token, **env)


@pytest.mark.parametrize("engine", ENGINES)
def test_killed_mid_build_is_built_again_after_restart(
    tmp_path: Path, sample: SampleRepo, nonce: str, engine: str
) -> None:
    live = connect(tmp_path, sample, None)
    path = start_slow_build(live, nonce, engine)

    live = restart(tmp_path, sample, live, signal.SIGKILL)
    try:
        build = live.wait_for(path)
        assert build["status"] == "SUCCESS", build
        assert image_file(live, build["registry"]["uri"], "/slow.txt") == "slow\n"
        assert len(live.get(path.rsplit("/", 1)[0])["builds"]) == 1
        if engine == "kaniko":  # the killed build's working container went too
            storage = live.process.data_dir / "buildah" / live.project
            assert buildah_containers(storage) == []
            assert str(storage) not in Path("/proc/mounts").read_text()
    finally:
        live.process.stop()


def test_killed_build_out_of_attempts_is_crashed(
    tmp_path: Path, sample: SampleRepo, nonce: str
) -> None:
    live = connect(tmp_path, sample, None, DOCKYARD_BUILD_ATTEMPTS="1")
    path = start_slow_build(live, nonce)

    live = restart(tmp_path, sample, live, signal.SIGKILL, DOCKYARD_BUILD_ATTEMPTS="1")
    try:
        build = live.wait_for(path)
        assert build["status"] == "CRASHED", build
        assert "BUILDING" in build["message"], build
        assert not (live.process.data_dir / "builds" / build["id"]).exists()
    finally:
        live.process.stop()


def test_stopped_server_hands_the_build_back(
    tmp_path: Path, sample: SampleRepo, nonce: str
) -> None:
    """SIGTERM: the build goes back to the queue, the next start finishes it; a graceful stop
    does not use up an attempt."""
    live = connect(tmp_path, sample, None, DOCKYARD_BUILD_ATTEMPTS="1")
    path = start_slow_build(live, nonce)

    live = restart(tmp_path, sample, live, signal.SIGTERM, DOCKYARD_BUILD_ATTEMPTS="1")
    try:
        build = live.wait_for(path)
        assert build["status"] == "SUCCESS", build
    finally:
        live.process.stop()
