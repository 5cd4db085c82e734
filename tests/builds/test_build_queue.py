"""At most DOCKYARD_MAX_CONCURRENT_BUILDS builds run at once; the others wait QUEUED and
start oldest first."""

from __future__ import annotations

import uuid
from pathlib import Path

import httpx

from tests.builds.conftest import LiveDockyard, start_live
from tests.builds.test_job_builds import vcs_job
from tests.gitrepos import make_sample_repo


def test_one_build_at_a_time_in_order(tmp_path: Path) -> None:
    sample = make_sample_repo(tmp_path / "git")
    # Three commits BuildKit has never built: none finishes from the cache.
    shas = [
        sample.repo.commit(
            {"Dockerfile": f"FROM local/busybox:1\nRUN echo {uuid.uuid4()}; sleep 2\n"}
        )
        for _ in range(3)
    ]
    process = start_live(tmp_path, sample, DOCKYARD_MAX_CONCURRENT_BUILDS="1")
    try:
        token = process.admin_token()
        with httpx.Client(
            base_url=process.url, headers={"Authorization": f"Bearer {token}"}, timeout=30
        ) as http:
            assert http.post("/v1/projects", json={"name": "Queue"}).status_code == 200
            live = LiveDockyard(process, http, sample, project="queue")
            job = vcs_job(live, "queued")
            first, second, third = (
                live.post(f"/jobs/{job}/build", {"sha": sha})["id"] for sha in shas
            )
            path = f"/jobs/{job}/build/"

            live.wait_for(path + first, lambda build: build["status"] == "BUILDING", 60)
            assert live.get(path + second)["status"] == "QUEUED"
            assert live.get(path + third)["status"] == "QUEUED"

            live.wait_for(path + second, lambda build: build["status"] == "BUILDING", 60)
            assert live.get(path + first)["status"] == "SUCCESS"
            assert live.get(path + third)["status"] == "QUEUED"

            assert live.wait_for(path + third)["status"] == "SUCCESS"
    finally:
        process.stop()
