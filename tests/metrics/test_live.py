"""On a live `dockyard up` (real git, BuildKit, registry and containers): one build and one
run move the counters, seen both on GET /metrics (with a token) and on the listener of
DOCKYARD_METRICS_LISTEN (without)."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest

from tests.builds.conftest import live_with_project
from tests.gitrepos import make_sample_repo
from tests.live import free_port
from tests.metrics.scrape import value
from tests.runs.conftest import FAST, busybox_job

pytestmark = pytest.mark.e2e

BUILD_SETTINGS = {
    "dockerfile": {"buildEngine": "buildkit", "dockerFilePath": "/Dockerfile", "dockerWorkDir": "/"}
}


def test_a_build_and_a_run_move_the_counters(tmp_path: Path) -> None:
    listen = f"127.0.0.1:{free_port()}"
    sample = make_sample_repo(tmp_path / "git")
    env = {**FAST, "DOCKYARD_METRICS_LISTEN": listen}
    with live_with_project(tmp_path, sample, "Metrics", **env) as live:
        vcs = {"projectUrl": sample.repo.url, "projectType": "github", "projectBranch": "main"}
        job = live.post(
            "/jobs/manual",
            {
                "name": "built",
                "billing": {"deploymentPlan": "nf-compute-20"},
                "backoffLimit": 0,
                "deployment": {"vcs": vcs},
                "buildSettings": BUILD_SETTINGS,
            },
        )["id"]
        build = live.post(f"/jobs/{job}/build", {})["id"]
        runner = busybox_job(live, "ran", "echo one; echo two")
        run = live.post(f"/jobs/{runner}/runs", {})["id"]
        assert live.wait_for(f"/jobs/{job}/build/{build}")["status"] == "SUCCESS"
        assert (
            live.wait_for(f"/jobs/{runner}/runs/{run}", lambda r: r["concluded"])["status"]
            == "SUCCESS"
        )

        scraped = live.http.get("/metrics")
        assert scraped.status_code == 200, scraped.text
        bare = httpx.get(f"http://{listen}/metrics", timeout=10)  # no token
        assert bare.status_code == 200
        for text in (scraped.text, bare.text):  # one process: the same counters
            assert value(text, "dockyard_builds_concluded_total", status="SUCCESS") == 1
            assert value(text, "dockyard_runs_concluded_total", status="SUCCESS") == 1
            assert value(text, "dockyard_worker_claims_total", kind="build") == 1
            assert value(text, "dockyard_worker_claims_total", kind="run") == 1
            for phase in ("queue_wait", "clone", "build", "push"):
                assert value(text, "dockyard_build_phase_seconds_count", phase=phase) == 1
            for phase in ("queue_wait", "start"):
                assert value(text, "dockyard_run_phase_seconds_count", phase=phase) == 1
            assert value(text, "dockyard_log_lines_written_total", kind="build") > 0
            assert value(text, "dockyard_log_lines_written_total", kind="run") >= 2
            assert value(text, "dockyard_log_lines_dropped_total", kind="run") == 0
            assert value(text, "dockyard_queue_depth", kind="build", status="QUEUED") == 0
            assert value(text, "dockyard_queue_depth", kind="run", status="RUNNING") == 0
