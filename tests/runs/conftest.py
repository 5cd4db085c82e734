"""A live `dockyard up` for run tests: retries back off 100 times faster and health checks
run 10 times faster than in production, so a test sees several attempts in seconds."""

from __future__ import annotations

import contextlib
import shlex
import signal
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.builds.conftest import LiveDockyard, start_live
from tests.gitrepos import make_sample_repo

FAST = {"DOCKYARD_RUN_BACKOFF_SCALE": "0.01", "DOCKYARD_PROBE_TIME_SCALE": "0.1"}


def connect(root: Path, **env: str) -> LiveDockyard:
    sample = make_sample_repo(root / "git")
    process = start_live(root, sample, **FAST, **env)
    token = process.admin_token()
    assert token, process.output()
    http = httpx.Client(
        base_url=process.url, headers={"Authorization": f"Bearer {token}"}, timeout=30
    )
    created = http.post("/v1/projects", json={"name": "Runs"})
    assert created.status_code == 200, created.text
    return LiveDockyard(process, http, sample, created.json()["data"]["id"])


@contextlib.contextmanager
def serving(root: Path, **env: str) -> Iterator[LiveDockyard]:
    """A live dockyard under `root` for the block, stopped with SIGTERM after it."""
    live = connect(root, **env)
    try:
        yield live
    finally:
        live.http.close()
        live.process.stop(signal.SIGTERM)


@pytest.fixture(scope="module")
def live(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveDockyard]:
    with serving(tmp_path_factory.mktemp("runs")) as live:
        yield live


def busybox_job(live: LiveDockyard, name: str, command: str, **fields: Any) -> str:
    """A job running `command` (a shell script) in local/busybox:1."""
    body = {
        "name": name,
        "billing": {"deploymentPlan": "nf-compute-20"},
        "backoffLimit": 0,
        "deployment": {
            "external": {"imagePath": "local/busybox:1"},
            "docker": {
                "configType": "customEntrypointCustomCommand",
                "customEntrypoint": "sh",
                "customCommand": f"-c {shlex.quote(command)}",
            },
        },
    } | fields
    job_id: str = live.post("/jobs/manual", body)["id"]
    return job_id


def is_concluded(run: dict[str, Any]) -> bool:
    return bool(run["concluded"])
