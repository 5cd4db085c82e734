"""`dockyard gc` on a live dockyard: with a retention of 0 days the images of a deleted job
and the older builds of a job leave the registry and the engine, the newest successful build
stays (a run still starts from it), stale build directories go, and the next `dockyard up`
frees the registry's blobs. A worker with DOCKYARD_GC_INTERVAL_SECONDS does the same on
its own."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import docker
import httpx
import pytest
from docker.models.images import Image

from tests.builds.conftest import LiveDockyard, docker_config
from tests.builds.test_job_builds import vcs_job
from tests.live import DOCKER_HOST, DockyardProcess
from tests.runs.conftest import serving

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def live(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveDockyard]:
    with serving(tmp_path_factory.mktemp("gc")) as live:
        yield live


def gc(live: LiveDockyard, *args: str) -> str:
    env = os.environ | {
        "DOCKYARD_DATA_DIR": str(live.process.data_dir),
        "DOCKYARD_REGISTRY": live.registry,
        "DOCKER_HOST": DOCKER_HOST,
        "DOCKYARD_IMAGE_RETENTION_DAYS": "0",
    }
    done = subprocess.run(
        [sys.executable, "-m", "dockyard", "gc", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    return done.stdout


def registry_tags(live: LiveDockyard, repository: str) -> list[str]:
    login = live.registry_login
    response = httpx.get(
        f"http://{live.registry}/v2/{repository}/tags/list", auth=(login.username, login.password)
    )
    return sorted(response.json().get("tags") or []) if response.status_code == 200 else []


def local_tags(live: LiveDockyard) -> set[str]:
    return {tag for image in docker_images() for tag in image.tags if tag.startswith(live.registry)}


def built(live: LiveDockyard, job: str, sha: str) -> str:
    build = live.post(f"/jobs/{job}/build", {"sha": sha})
    done = live.wait_for(f"/jobs/{job}/build/{build['id']}")
    assert done["status"] == "SUCCESS", done
    uri: str = done["registry"]["uri"]
    return uri


def blob_files(live: LiveDockyard) -> int:
    blobs = live.process.data_dir / "registry" / "data" / "docker" / "registry" / "v2" / "blobs"
    return sum(1 for path in blobs.rglob("data") if path.is_file())


def test_gc_removes_what_nothing_needs_and_keeps_the_newest(live: LiveDockyard) -> None:
    project, sample = live.project, live.sample
    kept_job = vcs_job(live, "gc kept")
    old = built(live, kept_job, sample.first)
    newest = built(live, kept_job, sample.main)
    gone_job = vcs_job(live, "gc deleted")
    changed = sample.repo.commit({"only-here.txt": "blob of the deleted job\n"}, "unique layer")
    deleted_image = built(live, gone_job, changed)
    assert live.delete(f"/jobs/{gone_job}").status_code == 200
    stale_dir = live.process.data_dir / "builds" / "crashed-build-0001"
    stale_dir.mkdir(parents=True)
    caches = live.process.data_dir / "git-cache"
    (used_cache,) = (caches / project).iterdir()
    of_deleted_project = caches / "deleted-project"
    (of_deleted_project / "0123456789abcdef").mkdir(parents=True)
    unused_for_long = caches / project / "fedcba9876543210"
    unused_for_long.mkdir()
    os.utime(unused_for_long, (0, 0))

    planned = gc(live, "--dry-run")
    assert "would remove 2 registry manifests" in planned, planned
    assert registry_tags(live, f"{project}/{kept_job}") == sorted([sample.first, sample.main])

    report = gc(live)
    assert "removed 2 registry manifests" in report and "1 build dirs" in report, report
    # A retention of 0 days keeps no cache either, the one just used included.
    assert "3 source caches" in report, report
    assert not (of_deleted_project.exists() or unused_for_long.exists() or used_cache.exists())
    assert registry_tags(live, f"{project}/{kept_job}") == [sample.main]
    assert registry_tags(live, f"{project}/{gone_job}") == []
    assert not {old, newest, deleted_image} & local_tags(live)  # a pushed build keeps none
    assert not stale_dir.exists()

    assert built(live, kept_job, sample.main) == newest  # fetched afresh into a new cache
    assert used_cache.is_dir()

    run = live.post(f"/jobs/{kept_job}/runs", {})
    assert live.wait_for(f"/jobs/{kept_job}/runs/{run['id']}")["status"] == "SUCCESS"

    blobs_before = blob_files(live)
    live.process.stop(signal.SIGTERM)
    live.process.start().wait_ready()
    assert "registry garbage-collect" in live.process.output()
    assert blob_files(live) < blobs_before
    assert registry_tags(live, f"{project}/{kept_job}") == [sample.main]


def test_images_dockyard_did_not_build_are_never_collected(
    live: LiveDockyard, tmp_path: Path
) -> None:
    """A shared registry holds others' images too, even in a project's namespace: without
    dockyard's label they stay, in the registry and in the engine."""
    foreign = f"{live.registry}/{live.project}/not-ours:1"
    config = docker_config(tmp_path / "docker", live.registry_login)
    env = os.environ | {"DOCKER_CONFIG": str(config)}
    for args in (["tag", "local/busybox:1", foreign], ["push", foreign]):
        subprocess.run(["docker", *args], check=True, capture_output=True, timeout=120, env=env)

    report = gc(live)

    assert "removed 0 registry manifests" in report, report
    assert registry_tags(live, f"{live.project}/not-ours") == ["1"]
    assert foreign in {tag for image in docker_images() for tag in image.tags}


def docker_images() -> list[Image]:
    return list(docker.DockerClient(base_url=DOCKER_HOST).images.list())


def test_a_worker_with_a_gc_interval_removes_what_gc_would(live: LiveDockyard) -> None:
    job = vcs_job(live, "gc scheduled")
    image = built(live, job, live.sample.first)
    assert live.delete(f"/jobs/{job}").status_code == 200
    stale_dir = live.process.data_dir / "builds" / "crashed-build-0002"
    stale_dir.mkdir(parents=True)
    planned = gc(live, "--dry-run")
    assert f"would remove {live.project}/{job}:{live.sample.first}" in planned, planned
    assert stale_dir.name in planned, planned
    worker = DockyardProcess(
        data_dir=live.process.data_dir,
        command="worker",
        registry_port=live.process.registry_port,
        env={"DOCKYARD_GC_INTERVAL_SECONDS": "1", "DOCKYARD_IMAGE_RETENTION_DAYS": "0"},
    ).start()
    try:
        passed = wait_for_line(worker, "gc removed")
    finally:
        worker.stop(signal.SIGTERM)

    assert f"{live.project}/{job}@sha256:" in passed and str(stale_dir) in passed, passed
    assert registry_tags(live, f"{live.project}/{job}") == []
    assert image not in local_tags(live) and not stale_dir.exists()


def wait_for_line(process: DockyardProcess, text: str, timeout: float = 120) -> str:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = [line for line in process.lines if text in line]
        if found:
            return found[0]
        assert process.process is not None and process.process.poll() is None, process.output()
        time.sleep(0.2)
    pytest.fail(f"no {text!r} within {timeout} s:\n{process.output()}")
