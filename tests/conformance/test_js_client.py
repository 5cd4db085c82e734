"""The core flow through the official `@northflank/js-client` from npm, run by node: a project,
a build service built from a branch, a manual job built from a sha and run, lists, range and
tailed logs, an aborted build and run, a cron job's calls, and deletes
(tests/conformance/js/flow.mjs); and the team's notification integrations
(tests/conformance/js/notifications.mjs)."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest

from tests.builds.conftest import LiveDockyard

pytestmark = pytest.mark.e2e

JS_DIR = Path(__file__).parent / "js"
FLOW_TIMEOUT = 180  # seconds the script waits for each build or run
SCRIPT_TIMEOUT = 540  # the whole script: a few builds and runs on a busy machine


@pytest.fixture(scope="module")
def node() -> str:
    """node, checked before the live dockyard starts."""
    found = shutil.which("node")
    if found is None:
        pytest.skip("node is not on PATH: the official JS client needs it")
    if not (JS_DIR / "node_modules" / "@northflank" / "js-client").is_dir():
        pytest.fail(f"{JS_DIR}/node_modules is missing: run `scripts/install.sh test`")
    return found


def run_script(node: str, script: str, env: dict[str, str], timeout: float) -> str:
    """`script` of tests/conformance/js run by node; its output (it must exit 0)."""
    done = subprocess.run(
        [node, str(JS_DIR / script)],
        cwd=JS_DIR,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
    )
    assert done.returncode == 0, f"{done.stderr}\n{done.stdout}"
    return done.stdout


def run_flow(node: str, live: LiveDockyard, token: str) -> list[dict[str, Any]]:
    env = {
        **os.environ,
        "DOCKYARD_URL": live.process.url,
        "NORTHFLANK_API_TOKEN": token,
        "FLOW_REPO_URL": live.sample.repo.url,
        "FLOW_SHA": live.sample.first,
        "FLOW_BRANCH": "feature",
        "FLOW_TIMEOUT": str(FLOW_TIMEOUT),
    }
    try:
        output = run_script(node, "flow.mjs", env, SCRIPT_TIMEOUT)
    except AssertionError as failed:
        raise AssertionError(f"{failed}\n{live.process.output()[-4000:]}") from None
    return [json.loads(line) for line in output.splitlines() if line.startswith("{")]


@pytest.mark.timeout(SCRIPT_TIMEOUT + 60)
def test_js_client_core_flow(node: str, live: LiveDockyard, token: str) -> None:
    steps = run_flow(node, live, token)

    summary = steps[-1]
    assert summary["step"] == "summary" and summary["ok"] is True, steps
    assert summary["patch build service"]["description"] == "patched by the js client"
    assert summary["patch build service"]["disabledCI"] is True
    assert summary["patch build service"]["serviceType"] == "build"

    service_build = summary["service build"]
    assert service_build["startedStatus"] == "QUEUED"
    assert service_build["status"] == "SUCCESS"
    assert service_build["branch"] == "feature" and service_build["sha"] == live.sample.feature
    assert service_build["image"].startswith(live.registry)

    assert summary["update job build source"]["projectBranch"] == "main"
    job_build = summary["job build"]
    assert job_build["status"] == "SUCCESS" and job_build["sha"] == live.sample.first
    run = summary["job run"]
    assert run["status"] == "SUCCESS" and run["succeeded"] == 1
    assert run["runName"].startswith("js-job-")

    lists = summary["lists"]
    assert lists["serviceBuilds"] == [service_build["id"]]
    assert lists["jobBuilds"] == [job_build["id"]]
    assert lists["runs"] == [run["id"]]

    ranged, tailed = summary["range logs"], summary["tail logs"]
    assert ranged["serviceBuildLines"] > 0 and ranged["jobBuildLines"] > 0
    assert ranged["runLines"] == ["hello v1"]
    assert tailed["serviceBuildLines"] == tailed["jobBuildLines"] == 5
    assert "hello v1" in tailed["runLines"]

    assert summary["aborts"] == {"build": "ABORTED", "run": "FAILED"}
    assert summary["cron job"] == {
        "sameId": True,
        "schedule": "@hourly",
        "concurrencyPolicy": "forbid",
        "resumed": False,
        "suspended": True,
    }
    assert summary["deletes"] == {"job": 404, "service": 404, "project": 404}


def test_js_client_manages_notification_integrations(
    node: str, live: LiveDockyard, token: str
) -> None:
    env = {**os.environ, "DOCKYARD_URL": live.process.url, "NORTHFLANK_API_TOKEN": token}
    result = json.loads(run_script(node, "notifications.mjs", env, 60).splitlines()[-1])
    project = result["project"]
    assert result["created"] == {"id": "js-alerts", "restricted": True, "projects": [project]}
    assert result["listed"] == ["js-alerts"]
    assert result["got"] == {"name": "JS Alerts", "hasSecret": False}
    assert result["updated"] == {"name": "JS Alerts Renamed", "restricted": False, "projects": []}
    assert result["goneStatus"] == 404
