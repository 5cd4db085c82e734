"""dockyard's own output never carries a secret value held in a crashing frame's locals."""

from __future__ import annotations

import base64
import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import httpx

from tests.builds.conftest import LiveDockyard
from tests.gitrepos import HOST_URL
from tests.live import free_port
from tests.notifications.conftest import wait_for_deliveries
from tests.runs.conftest import serving

SECRET = "s3cr3t-build-arg-value-7f1c"

CRASH = f"""
import structlog
from dockyard.logging import configure_logging

configure_logging()
log = structlog.get_logger()

def build(build_arguments):
    raise RuntimeError("engine failed")

try:
    build({{"TOKEN": "{SECRET}"}})
except RuntimeError:
    log.exception("build crashed")
"""


def test_a_logged_exception_shows_no_locals() -> None:
    result = subprocess.run(
        [sys.executable, "-c", CRASH], capture_output=True, text=True, timeout=60, check=True
    )
    output = result.stdout + result.stderr
    assert "engine failed" in output
    assert SECRET not in output


# ---- a live `dockyard up`: its whole stdout/stderr through failing builds, requests and
# notifications holds none of the secrets a project set ------------------------------------

ENV_SECRET = "s3cr3t-env-v4lue-91ad"
ARG_SECRET = "s3cr3t-arg-v4lue-2b7e"
BUILD_FILE_SECRET = "s3cr3t-build-file-5c3d"
RUNTIME_FILE_SECRET = "s3cr3t-runtime-file-e40a"
HOOK_SECRET = "s3cr3t-hook-signing-77f0"
GIT_TOKEN = "s3cr3t-git-t0ken-0c19"
REQUEST_SECRET = "s3cr3t-in-a-bad-request-d2a8"
SECRETS = (
    ENV_SECRET,
    ARG_SECRET,
    BUILD_FILE_SECRET,
    RUNTIME_FILE_SECRET,
    HOOK_SECRET,
    GIT_TOKEN,
    REQUEST_SECRET,
)
# The RUN fails without printing anything secret: what could leak is dockyard's own handling.
FAILS = "FROM local/busybox:1\nARG SECRET_ARG\nCOPY app.conf /app.conf\nRUN exit 3\n"


def b64(text: str) -> str:
    return base64.b64encode(text.encode()).decode()


def failing_job(live: LiveDockyard, name: str, url: str, branch: str) -> str:
    body = {
        "name": name,
        "billing": {"deploymentPlan": "nf-compute-20"},
        "backoffLimit": 0,
        "deployment": {
            "vcs": {"projectUrl": url, "projectType": "github", "projectBranch": branch}
        },
        "buildSettings": {"dockerfile": {"dockerFilePath": "/Dockerfile", "dockerWorkDir": "/"}},
        "runtimeEnvironment": {"SECRET_ENV": ENV_SECRET},
        "runtimeFiles": {"/etc/app/secret": {"data": b64(RUNTIME_FILE_SECRET)}},
        "buildArguments": {"SECRET_ARG": ARG_SECRET},
        "buildFiles": {"/app.conf": {"data": b64(f"key={BUILD_FILE_SECRET}\n")}},
    }
    job_id: str = live.post("/jobs/manual", body)["id"]
    return job_id


def failed_build(live: LiveDockyard, job: str, body: dict[str, Any]) -> dict[str, Any]:
    build_id = live.post(f"/jobs/{job}/build", body)["id"]
    build = live.wait_for(f"/jobs/{job}/build/{build_id}")
    assert build["status"] == "FAILURE", build
    return build


def refused_requests(live: LiveDockyard) -> list[httpx.Response]:
    """A 400 whose body holds a secret next to an invalid key, one with the secret in a value
    of the wrong type, and a body over the size limit."""
    jobs = f"/v1/projects/{live.project}/jobs/manual"
    job = {
        "name": "bad",
        "billing": {"deploymentPlan": "nf-compute-20"},
        "deployment": {"external": {"imagePath": "local/busybox:1"}},
    }
    invalid_key = job | {"runtimeEnvironment": {"OK": REQUEST_SECRET, "bad key!": "x"}}
    too_long = job | {"runtimeEnvironment": {"A": {"value": REQUEST_SECRET}}}
    oversized = json.dumps({"name": "big", "description": REQUEST_SECRET * 80_000})
    replies = [
        live.http.post(jobs, json=invalid_key),
        live.http.post(jobs, json=too_long),
        live.http.post(jobs, content=oversized, headers={"Content-Type": "application/json"}),
    ]
    assert [r.status_code for r in replies[:2]] == [400, 400], [r.text for r in replies]
    assert replies[2].status_code == 413, replies[2].text
    return replies


def crashing_request(live: LiveDockyard) -> httpx.Response:
    """A webhook host with a NUL in it, the integration's secret next to it: it once failed
    inside its handler (a 500 rendered with a traceback on the server), now a 400; the
    traceback path itself is the subprocess test above."""
    hook = {
        "name": "crashes",
        "type": "RAW_WEBHOOK",
        "webhook": "http://hooks\u0000.example.com/x",
        "secret": REQUEST_SECRET,
        "events": {"trigger:build:failure": True},
    }
    path = f"/v1/projects/{live.project}/notifications"
    # A fresh connection: the server closes the one whose request failed unexpectedly.
    with httpx.Client(base_url=live.process.url, headers=live.http.headers, timeout=60) as client:
        reply = client.post(path, json=hook)
    assert reply.status_code == 400, reply.text
    return reply


def test_the_server_output_holds_no_secret(tmp_path: Path) -> None:
    closed = f"http://127.0.0.1:{free_port()}"
    env = {
        "DOCKYARD_NOTIFICATION_BACKOFF_SCALE": "0.01",
        "DOCKYARD_NOTIFICATION_RETRY_SECONDS": "3",
        "DOCKYARD_NOTIFICATION_TIMEOUT_SECONDS": "2",
        "DOCKYARD_MAX_REQUEST_MB": "1",
        "DOCKYARD_LOG_LEVEL": "debug",
        # The operator's credential for an unreachable git host, in a rewritten remote URL.
        "DOCKYARD_GIT_INSTEADOF": json.dumps(
            {
                HOST_URL: f"{tmp_path / 'git'}/",
                "https://unreachable.example.test/": (
                    f"http://dockyard:{GIT_TOKEN}@127.0.0.1:{free_port()}/"
                ),
            }
        ),
    }
    with serving(tmp_path, **env) as live:
        sha = live.sample.repo.commit({"Dockerfile": FAILS}, "fails", branch="fails")
        hook = {
            "name": "closed port",
            "type": "RAW_WEBHOOK",
            "webhook": f"{closed}/hook",
            "secret": HOOK_SECRET,
            "events": {"trigger:build:failure": True},
        }
        integration = live.post("/notifications", hook)["id"]
        job = failing_job(live, "fails", live.sample.repo.url, "fails")
        unreachable_url = "https://unreachable.example.test/team/app"
        unreachable = failing_job(live, "unreachable", unreachable_url, "main")
        failed_build(live, job, {"sha": sha})
        cut_off = failed_build(live, unreachable, {})
        shown = cut_off["message"] + "\n".join(live.lines(cut_off["id"]))
        assert "Cannot list the refs" in shown and GIT_TOKEN not in shown, shown
        replies = [*refused_requests(live), crashing_request(live)]
        wait_for_deliveries(
            live,
            integration,
            lambda found: len(found) >= 2 and all(d["status"] == "failed" for d in found),
        )
    output = live.process.output()
    assert "notification attempt failed" in output, output
    for reply in replies:
        assert REQUEST_SECRET not in reply.text, reply.text
    for secret in SECRETS:
        for shown in (secret, b64(secret)):
            assert shown not in output, f"{shown} is in dockyard's output:\n{output}"
