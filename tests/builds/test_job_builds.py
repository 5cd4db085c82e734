"""Job builds end to end: real git clone, BuildKit build, push to the registry."""

from __future__ import annotations

import base64
import subprocess
from typing import Any

from tests.builds.conftest import LiveDockyard
from tests.live import DOCKER_HOST


def b64(text: str) -> str:
    return base64.b64encode(text.encode()).decode()


def vcs_job(live: LiveDockyard, name: str, **fields: Any) -> str:
    body = {
        "name": name,
        "billing": {"deploymentPlan": "nf-compute-20"},
        "backoffLimit": 0,
        "deployment": {
            "vcs": {
                "projectUrl": live.sample.repo.url,
                "projectType": "github",
                "projectBranch": "main",
            }
        },
        "buildSettings": {
            "dockerfile": {
                "buildEngine": "buildkit",
                "dockerFilePath": "/Dockerfile",
                "dockerWorkDir": "/",
            }
        },
    } | fields
    job_id: str = live.post("/jobs/manual", body)["id"]
    return job_id


def image_file(image: str, path: str) -> str:
    """The content of `path` in the pushed image, pulled back from the registry."""
    env = {"DOCKER_HOST": DOCKER_HOST}
    subprocess.run(["docker", "pull", "--quiet", image], check=True, env=env, capture_output=True)
    done = subprocess.run(
        ["docker", "run", "--rm", "--network", "none", image, "cat", path],
        check=True,
        env=env,
        capture_output=True,
        text=True,
    )
    return done.stdout


def test_build_of_latest_commit_pushes_the_image(live: LiveDockyard) -> None:
    job = vcs_job(live, "latest commit")
    started = live.post(f"/jobs/{job}/build", {})
    assert started["status"] == "QUEUED" and started["concluded"] is False
    assert (started["branch"] == "main" and "sha" not in started) or started["sha"] is None

    build = live.wait_for(f"/jobs/{job}/build/{started['id']}")

    assert build["status"] == "SUCCESS", build
    assert build["success"] is True
    assert build["sha"] == live.sample.main
    image = build["registry"]["uri"]
    assert image == f"{live.registry}/{live.project}/{job}:{live.sample.main}"
    assert image_file(image, "/hello.txt") == "hello v2\n"


def test_build_of_a_given_sha(live: LiveDockyard) -> None:
    job = vcs_job(live, "given sha")
    started = live.post(f"/jobs/{job}/build", {"sha": live.sample.first})
    assert started["sha"] == live.sample.first

    build = live.wait_for(f"/jobs/{job}/build/{started['id']}")

    assert build["status"] == "SUCCESS", build
    assert image_file(build["registry"]["uri"], "/hello.txt") == "hello v1\n"


def test_unknown_sha_fails_with_a_clear_message(live: LiveDockyard) -> None:
    job = vcs_job(live, "unknown sha")
    started = live.post(f"/jobs/{job}/build", {"sha": "0" * 40})

    build = live.wait_for(f"/jobs/{job}/build/{started['id']}")

    assert build["status"] == "FAILURE"
    assert build["success"] is False
    assert "0" * 40 in build["message"], build
