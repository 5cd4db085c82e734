"""Job builds end to end: real git clone, BuildKit or buildah (kaniko) build, push to the
registry."""

from __future__ import annotations

import base64
import re
import statistics
import subprocess
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

import pytest

from tests.builds.conftest import ENGINES, LiveDockyard, docker_config
from tests.live import DOCKER_HOST


def b64(text: str) -> str:
    return base64.b64encode(text.encode()).decode()


def vcs_job(live: LiveDockyard, name: str, engine: str = "buildkit", **fields: Any) -> str:
    body = {
        "name": name if engine == "buildkit" else f"{name} {engine}",
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
                "buildEngine": engine,
                "dockerFilePath": "/Dockerfile",
                "dockerWorkDir": "/",
            }
        },
    } | fields
    job_id: str = live.post("/jobs/manual", body)["id"]
    return job_id


def image_file(live: LiveDockyard, image: str, path: str) -> str:
    """The content of `path` in the pushed image, pulled back from the registry with
    dockyard's login."""
    env = {"DOCKER_HOST": DOCKER_HOST}
    with tempfile.TemporaryDirectory() as scratch:
        config = docker_config(Path(scratch) / "docker", live.registry_login)
        subprocess.run(
            ["docker", "pull", "--quiet", image],
            check=True,
            env=env | {"DOCKER_CONFIG": str(config)},
            capture_output=True,
        )
    done = subprocess.run(
        ["docker", "run", "--rm", "--network", "none", image, "cat", path],
        check=True,
        env=env,
        capture_output=True,
        text=True,
    )
    return done.stdout


@pytest.mark.parametrize("engine", ENGINES)
def test_build_of_latest_commit_pushes_the_image(live: LiveDockyard, engine: str) -> None:
    job = vcs_job(live, "latest commit", engine)
    started = live.post(f"/jobs/{job}/build", {})
    assert started["status"] == "QUEUED" and started["concluded"] is False
    assert (started["branch"] == "main" and "sha" not in started) or started["sha"] is None

    build = live.wait_for(f"/jobs/{job}/build/{started['id']}")

    assert build["status"] == "SUCCESS", build
    assert build["success"] is True
    assert build["sha"] == live.sample.main
    assert build["trigger"] == "api"
    image = build["registry"]["uri"]
    assert image == f"{live.registry}/{live.project}/{job}:{live.sample.main}"
    assert image_file(live, image, "/hello.txt") == "hello v2\n"


@pytest.mark.parametrize("engine", ENGINES)
def test_build_of_a_given_sha(live: LiveDockyard, engine: str) -> None:
    job = vcs_job(live, "given sha", engine)
    started = live.post(f"/jobs/{job}/build", {"sha": live.sample.first})
    assert started["sha"] == live.sample.first

    build = live.wait_for(f"/jobs/{job}/build/{started['id']}")

    assert build["status"] == "SUCCESS", build
    assert image_file(live, build["registry"]["uri"], "/hello.txt") == "hello v1\n"


def test_unknown_sha_fails_with_a_clear_message(live: LiveDockyard) -> None:
    job = vcs_job(live, "unknown sha")
    started = live.post(f"/jobs/{job}/build", {"sha": "0" * 40})

    build = live.wait_for(f"/jobs/{job}/build/{started['id']}")

    assert build["status"] == "FAILURE"
    assert build["success"] is False
    assert "0" * 40 in build["message"], build


ARGS_DOCKERFILE = """FROM local/busybox:1
ARG GREETING
ARG SECRET_TOKEN
COPY config/app.conf /app.conf
RUN echo "greeting=$GREETING" > /greeting.txt
RUN --mount=type=secret,id=npmrc wc -c < /run/secrets/npmrc > /npmrc-length
"""


@pytest.mark.parametrize("engine", ENGINES)
def test_arguments_files_secret_mounts_and_overrides(live: LiveDockyard, engine: str) -> None:
    sha = live.sample.repo.commit({"Dockerfile": ARGS_DOCKERFILE}, "args", branch=f"args-{engine}")
    job = vcs_job(
        live,
        "arguments",
        engine,
        deployment={
            "vcs": {
                "projectUrl": live.sample.repo.url,
                "projectType": "github",
                "projectBranch": f"args-{engine}",
            }
        },
        buildArguments={"GREETING": "hello", "SECRET_TOKEN": "s3cr3t-token-value"},
        buildFiles={
            "/config/app.conf": {"data": b64("token=${SECRET_TOKEN} greeting=${GREETING}\n")}
        },
        dockerSecretMounts={"npmrc": {"data": b64("mount-secret-content")}},
    )
    started = live.post(
        f"/jobs/{job}/build",
        {"sha": sha, "overrides": {"buildArguments": {"GREETING": "overridden"}}},
    )

    build = live.wait_for(f"/jobs/{job}/build/{started['id']}")

    assert build["status"] == "SUCCESS", build
    image = build["registry"]["uri"]
    assert image_file(live, image, "/greeting.txt") == "greeting=overridden\n"
    assert image_file(live, image, "/app.conf") == "token=s3cr3t-token-value greeting=overridden\n"
    assert image_file(live, image, "/npmrc-length").strip() == str(len("mount-secret-content"))
    history = subprocess.run(
        ["docker", "history", "--no-trunc", image],
        env={"DOCKER_HOST": DOCKER_HOST},
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    assert "mount-secret-content" not in history
    logs = "\n".join(live.lines(build["id"]))
    assert "Pushed" in logs
    assert "s3cr3t-token-value" not in logs and "mount-secret-content" not in logs


@pytest.mark.parametrize("engine", ENGINES)
def test_failing_dockerfile_names_the_step(live: LiveDockyard, engine: str) -> None:
    sha = live.sample.repo.commit(
        {"Dockerfile": "FROM local/busybox:1\nRUN echo about to fail && exit 3\n"},
        "broken",
        branch=f"broken-{engine}",
    )
    job = vcs_job(live, "broken", engine)
    started = live.post(f"/jobs/{job}/build", {"sha": sha})

    build = live.wait_for(f"/jobs/{job}/build/{started['id']}")

    assert build["status"] == "FAILURE", build
    assert "exit 3" in build["message"], build
    assert "BUILDING" in build["message"], build


# A step that holds 64 MiB for a moment (tail keeps the whole of its input, one line with no
# end), then idles through a sample or two; {} makes it new, never cached by an earlier run.
# The ping sends packets out of the step's network (if it has one), answered or not.
ALLOCATING_DOCKERFILE = (
    "FROM local/busybox:1\n"
    "RUN echo {}; ping -c 3 -W 1 192.0.2.1 || true; head -c 67108864 /dev/zero | tail"
    " >/dev/null; sleep 2\n"
)


@pytest.mark.parametrize("engine", ENGINES)
def test_build_metrics_show_the_steps_memory_and_cpu(live: LiveDockyard, engine: str) -> None:
    sha = live.sample.repo.commit(
        {"Dockerfile": ALLOCATING_DOCKERFILE.format(uuid.uuid4())},
        "allocating",
        branch=f"allocating-{engine}",
    )
    job = vcs_job(live, "allocating", engine)
    started = live.post(f"/jobs/{job}/build", {"sha": sha})
    build = live.wait_for(f"/jobs/{job}/build/{started['id']}")
    assert build["status"] == "SUCCESS", build

    response = live.http.get(
        f"/v1/projects/{live.project}/jobs/{job}/build-metrics",
        params={"buildId": build["id"], "metricTypes": ["memory", "cpu", "networkEgress"]},
    )
    assert response.status_code == 200, response.text
    found = response.json()["data"]
    memory, cpu, sent = (found[metric]["values"] for metric in ("memory", "cpu", "networkEgress"))
    assert len(memory) == 1 and memory[0]["metadata"]["buildId"] == build["id"], memory
    assert memory[0]["metadata"]["containerName"] == engine
    # kaniko's series is buildah's process tree, buildah itself (~20 MiB) in it; BuildKit's
    # is the steps alone.
    own = statistics.median(point["value"] for point in memory[0]["data"])
    assert 0.8 * 64 <= memory[0]["metadata"]["peak"] - own <= 1.2 * 64, memory
    assert len(memory[0]["data"]) >= 2, memory
    assert cpu[0]["metadata"]["peak"] > 0, cpu
    # BuildKit's steps are on a bridge; kaniko's have no network (the worker's is not theirs).
    sending = any(point["value"] > 0 for point in sent[0]["data"])
    assert sending is (engine == "buildkit"), sent

    # What tells the build's steps apart must not change their cache keys.
    again = live.post(f"/jobs/{job}/build", {"sha": sha})
    assert live.wait_for(f"/jobs/{job}/build/{again['id']}")["status"] == "SUCCESS"
    assert run_step_cached(live.lines(again["id"]), engine), live.lines(again["id"])


def run_step_cached(lines: list[str], engine: str) -> bool:
    if engine == "kaniko":
        return any(line.startswith("--> Using cache ") for line in lines)
    steps = {m[1]: m[2] for line in lines if (m := re.match(r"#(\d+) \[\d+/\d+\] (.*)", line))}
    cached = {m[1] for line in lines if (m := re.match(r"#(\d+) CACHED", line))}
    return any(steps[step].startswith("RUN ") for step in cached & steps.keys())


def buildah_containers(storage: Path) -> list[str]:
    listed = subprocess.run(
        [
            "buildah",
            f"--root={storage / 'storage'}",
            f"--runroot={storage / 'run'}",
            "--storage-driver=vfs",
            "containers",
            "--quiet",
        ],
        check=True,
        capture_output=True,
        text=True,
    )
    return listed.stdout.split()


@pytest.mark.parametrize("engine", ENGINES)
def test_abort_mid_build(live: LiveDockyard, engine: str) -> None:
    sha = live.sample.repo.commit(
        {"Dockerfile": "FROM local/busybox:1\nRUN sleep 60\n"}, "slow", branch=f"slow-{engine}"
    )
    job = vcs_job(live, "slow", engine)
    started = live.post(f"/jobs/{job}/build", {"sha": sha})
    path = f"/jobs/{job}/build/{started['id']}"
    live.wait_for(path, lambda build: build["status"] == "BUILDING", timeout=60)

    aborted = live.delete(path)
    assert aborted.status_code == 200, aborted.text

    build = live.wait_for(path, timeout=20)
    assert build["status"] == "ABORTED", build
    assert not (live.process.data_dir / "builds" / started["id"]).exists()
    if engine == "kaniko":  # buildah's working container of the killed step went too
        storage = live.process.data_dir / "buildah" / live.project
        assert buildah_containers(storage) == []
        assert str(storage) not in Path("/proc/mounts").read_text()
    again = live.delete(path)
    assert again.status_code == 409, again.text


def test_build_list_is_newest_first(live: LiveDockyard) -> None:
    job = vcs_job(live, "listed")
    ids = [live.post(f"/jobs/{job}/build", {"sha": live.sample.first})["id"] for _ in range(3)]

    listed = live.get(f"/jobs/{job}/build")

    assert [build["id"] for build in listed["builds"]] == ids[::-1]
    for build_id in ids:
        live.wait_for(f"/jobs/{job}/build/{build_id}")


MULTI_STAGE = """FROM local/busybox:1 AS base
RUN echo base > /stage.txt
FROM base AS release
RUN echo release > /stage.txt
"""


@pytest.mark.parametrize("engine", ENGINES)
def test_overrides_of_dockerfile_path_context_and_target(live: LiveDockyard, engine: str) -> None:
    sha = live.sample.repo.commit(
        {"build/Release.dockerfile": MULTI_STAGE, "build/context/marker.txt": "ctx\n"},
        "nested",
        branch=f"nested-{engine}",
    )
    job = vcs_job(live, "overridden", engine)
    started = live.post(
        f"/jobs/{job}/build",
        {
            "sha": sha,
            "overrides": {
                "docker": {
                    "dockerFilePath": "/build/Release.dockerfile",
                    "dockerWorkDir": "/build/context",
                    "dockerfileTarget": "base",
                }
            },
        },
    )

    build = live.wait_for(f"/jobs/{job}/build/{started['id']}")

    assert build["status"] == "SUCCESS", build
    assert image_file(live, build["registry"]["uri"], "/stage.txt") == "base\n"


def test_job_status_follows_its_latest_build(live: LiveDockyard) -> None:
    job = vcs_job(live, "status follows")
    assert "build" not in live.get(f"/jobs/{job}")["status"]
    started = live.post(f"/jobs/{job}/build", {"sha": live.sample.first})

    live.wait_for(f"/jobs/{job}/build/{started['id']}")

    status = live.get(f"/jobs/{job}")["status"]["build"]
    assert status["status"] == "SUCCESS"
    assert isinstance(status["lastTransitionTime"], str)


def test_deleting_a_job_aborts_its_builds(live: LiveDockyard) -> None:
    sha = live.sample.repo.commit(
        {"Dockerfile": "FROM local/busybox:1\nRUN sleep 61\n"}, "slower", branch="slower"
    )
    job = vcs_job(live, "deleted while building")
    started = live.post(f"/jobs/{job}/build", {"sha": sha})
    live.wait_for(f"/jobs/{job}/build/{started['id']}", lambda b: b["status"] == "BUILDING", 60)

    assert live.delete(f"/jobs/{job}").status_code == 200

    deadline = time.monotonic() + 20
    while (live.process.data_dir / "builds" / started["id"]).exists():
        assert time.monotonic() < deadline, "the build of the deleted job kept running"
        time.sleep(0.2)
    again = vcs_job(live, "deleted while building")
    assert again == job and live.get(f"/jobs/{job}/build")["builds"] == []


def test_buildpack_builds_fail_with_how_to_fix(live: LiveDockyard) -> None:
    job = vcs_job(live, "buildpack", buildSettings={"buildpack": {"builder": "HEROKU_24"}})
    started = live.post(f"/jobs/{job}/build", {"sha": live.sample.first})

    build = live.wait_for(f"/jobs/{job}/build/{started['id']}")

    assert build["status"] == "FAILURE"
    assert "pack" in build["message"] and "BuildKit" in build["message"], build
