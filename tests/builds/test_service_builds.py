"""Build service builds end to end: a branch, a GitHub PR, a GitLab MR, a source bundle."""

from __future__ import annotations

import io
import re
import tarfile
from collections.abc import Iterator
from typing import Any

import pytest

from dockyard.config import Settings
from tests.builds.conftest import ENGINES, LiveDockyard
from tests.builds.test_job_builds import image_file
from tests.conftest import stored_bytes
from tests.fileserver import serve_files


def service(
    live: LiveDockyard, name: str, project_type: str = "github", engine: str = "buildkit"
) -> str:
    body = {
        "name": name if engine == "buildkit" else f"{name} {engine}",
        "billing": {"buildPlan": "nf-compute-200-8"},
        "vcsData": {"projectUrl": live.sample.repo.url, "projectType": project_type},
        "buildSettings": {
            "dockerfile": {
                "buildEngine": engine,
                "dockerFilePath": "/Dockerfile",
                "dockerWorkDir": "/",
            }
        },
    }
    service_id: str = live.post("/services/build", body)["id"]
    return service_id


def build_of(live: LiveDockyard, service_id: str, request: dict[str, Any]) -> dict[str, Any]:
    started = live.post(f"/services/{service_id}/build", request)
    assert started["status"] == "QUEUED"
    return live.wait_for(f"/services/{service_id}/build/{started['id']}")


def test_branch_build(live: LiveDockyard) -> None:
    service_id = service(live, "branch")

    build = build_of(live, service_id, {"branch": "feature"})

    assert build["status"] == "SUCCESS", build
    assert build["branch"] == "feature" and build["sha"] == live.sample.feature
    assert image_file(live, build["registry"]["uri"], "/src/feature.txt") == "feature\n"


@pytest.mark.parametrize("engine", ENGINES)
def test_github_pull_request_build(live: LiveDockyard, engine: str) -> None:
    service_id = service(live, "pull request", engine=engine)

    build = build_of(live, service_id, {"pullRequestId": 7})

    assert build["status"] == "SUCCESS", build
    assert build["pullRequestId"] == 7 and build["sha"] == live.sample.pull_7
    assert image_file(live, build["registry"]["uri"], "/src/pr.txt") == "pull 7\n"


def test_gitlab_merge_request_build_of_a_given_sha(live: LiveDockyard) -> None:
    service_id = service(live, "merge request", project_type="gitlab")

    build = build_of(live, service_id, {"pullRequestId": 3, "sha": live.sample.merge_request_3})

    assert build["status"] == "SUCCESS", build
    assert image_file(live, build["registry"]["uri"], "/src/mr.txt") == "merge request 3\n"


def test_unknown_branch_fails(live: LiveDockyard) -> None:
    service_id = service(live, "no such branch")

    build = build_of(live, service_id, {"branch": "does-not-exist"})

    assert build["status"] == "FAILURE"
    assert "does-not-exist" in build["message"], build


def bundle_bytes() -> bytes:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as tar:
        for name, content in {
            "Dockerfile": b"FROM local/busybox:1\nCOPY bundled.txt /bundled.txt\n",
            "bundled.txt": b"from a bundle\n",
        }.items():
            info = tarfile.TarInfo(name)
            info.size = len(content)
            tar.addfile(info, io.BytesIO(content))
    return buffer.getvalue()


# A presigned URL's credential: the server must never store it in clear.
SIGNATURE = "X-Amz-Signature=0ddba11c0ffee"


@pytest.fixture
def bundle_url() -> Iterator[str]:
    name = f"source.tar.gz?{SIGNATURE}"
    with serve_files({name: bundle_bytes()}) as base:
        yield f"{base}/{name}"


@pytest.mark.parametrize("engine", ENGINES)
def test_bundle_build(live: LiveDockyard, bundle_url: str, engine: str) -> None:
    service_id = service(live, "bundle", engine=engine)

    build = build_of(live, service_id, {"bundleUrl": bundle_url})

    assert build["status"] == "SUCCESS", build
    assert build["registry"]["uri"].endswith(f"/{service_id}:{build['id']}")
    assert image_file(live, build["registry"]["uri"], "/bundled.txt") == "from a bundle\n"
    assert SIGNATURE.encode() not in stored_bytes(Settings(data_dir=live.process.data_dir))
    assert not any(SIGNATURE in line for line in live.lines(build["id"]))


def test_missing_bundle_fails(live: LiveDockyard, bundle_url: str) -> None:
    service_id = service(live, "missing bundle")

    build = build_of(live, service_id, {"bundleUrl": bundle_url.replace("source", "absent")})

    assert build["status"] == "FAILURE"
    assert "404" in build["message"], build


def cached_steps(live: LiveDockyard, build: dict[str, Any]) -> list[str]:
    """The Dockerfile steps BuildKit took from its cache, but for FROM (the base image)."""
    lines = live.lines(build["id"])
    names = {m[1]: m[2] for line in lines if (m := re.match(r"#(\d+) \[\d+/\d+\] (.*)", line))}
    cached = {m[1] for line in lines if (m := re.match(r"#(\d+) CACHED", line))}
    return sorted(names[n] for n in cached & names.keys() if not names[n].startswith("FROM"))


ALL_STEPS = ["COPY . /src/", "COPY hello.txt /hello.txt"]


def test_dropped_build_cache_rebuilds_every_step(live: LiveDockyard) -> None:
    service_id = service(live, "cache")
    request = {"branch": "main", "sha": live.sample.first}
    assert build_of(live, service_id, request)["status"] == "SUCCESS"
    cached = build_of(live, service_id, request)
    assert cached_steps(live, cached) == ALL_STEPS

    dropped = live.delete(f"/services/{service_id}/build-cache")
    assert dropped.status_code == 200, dropped.text
    rebuilt = build_of(live, service_id, request)
    again = build_of(live, service_id, request)

    assert rebuilt["status"] == "SUCCESS", rebuilt
    assert cached_steps(live, rebuilt) == []
    assert cached_steps(live, again) == ALL_STEPS


def test_service_list_and_get_show_the_latest_build(live: LiveDockyard) -> None:
    service_id = service(live, "listed status")
    build = build_of(live, service_id, {"branch": "main"})

    listed = {s["id"]: s for s in live.get("/services")["services"]}
    assert listed[service_id]["status"]["build"]["status"] == build["status"] == "SUCCESS"
    assert live.get(f"/services/{service_id}")["status"]["build"]["status"] == "SUCCESS"
