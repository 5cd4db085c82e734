"""A worker with no Docker engine at all builds with kaniko (buildah) and pushes to dockyard's
registry; a Docker worker then runs the image. Until a worker offering kaniko comes, the
build waits QUEUED, saying why."""

from __future__ import annotations

import json
import signal
import time
from pathlib import Path

import pytest

from tests.builds.conftest import live_with_project
from tests.gitrepos import make_sample_repo
from tests.live import DockyardProcess


def wait_for_output(process: DockyardProcess, text: str, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while text not in process.output():
        if process.process is not None and process.process.poll() is not None:
            pytest.fail(f"the worker exited:\n{process.output()}")
        if time.monotonic() > deadline:
            pytest.fail(f"the worker never logged {text!r}:\n{process.output()}")
        time.sleep(0.2)


def test_a_worker_without_docker_builds_kaniko_and_a_docker_worker_runs_it(
    tmp_path: Path,
) -> None:
    sample = make_sample_repo(tmp_path / "git")
    with live_with_project(
        tmp_path, sample, "Daemonless", DOCKYARD_BUILD_ENGINES='["buildkit"]'
    ) as live:
        body = {
            "name": "daemonless",
            "billing": {"deploymentPlan": "nf-compute-20"},
            "backoffLimit": 0,
            "deployment": {
                "vcs": {
                    "projectUrl": sample.repo.url,
                    "projectType": "github",
                    "projectBranch": "main",
                },
                "docker": {"configType": "customCommand", "customCommand": "cat /hello.txt"},
            },
            "buildSettings": {
                "dockerfile": {
                    "buildEngine": "kaniko",
                    "dockerFilePath": "/Dockerfile",
                    "dockerWorkDir": "/",
                }
            },
        }
        job = live.post("/jobs/manual", body)["id"]
        path = f"/jobs/{job}/build/{live.post(f'/jobs/{job}/build', {})['id']}"

        waiting = live.wait_for(path, lambda build: build.get("message"), timeout=30)
        assert waiting["status"] == "QUEUED", waiting
        assert "Waiting for a worker that offers the kaniko build engine" in waiting["message"]

        worker = DockyardProcess(
            data_dir=live.process.data_dir,
            command="worker",
            env={
                "DOCKER_HOST": "unix:///nonexistent/docker.sock",
                "DOCKYARD_BUILD_ENGINES": '["kaniko"]',
                "DOCKYARD_GIT_INSTEADOF": json.dumps(sample.repo.insteadof),
                "DOCKYARD_WORKER_LEASE_SECONDS": "3",
                "DOCKYARD_WORKER_POLL_SECONDS": "0.5",
            },
            port=live.process.port,
            registry_port=live.process.registry_port,
        ).start()
        try:
            wait_for_output(worker, "worker started")
            build = live.wait_for(path)
            assert build["status"] == "SUCCESS", (build, live.lines(build["id"]))
            assert build.get("message") is None, build
            assert "builds with kaniko (buildah) only and runs no jobs" in worker.output()
            assert build["id"] in worker.output()  # built there, not by the Docker worker

            run_id = live.post(f"/jobs/{job}/runs", {})["id"]
            run = live.wait_for(f"/jobs/{job}/runs/{run_id}")
            assert run["status"] == "SUCCESS", (run, live.lines_of("run", run_id))
            assert "hello v2" in live.lines_of("run", run_id)
        finally:
            worker.stop(signal.SIGTERM)
