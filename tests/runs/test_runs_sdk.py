"""The official `northflank` SDK starts, reads, lists and aborts job runs."""

from __future__ import annotations

import time

import pytest
from northflank import ApiClient, ApiClientContext

from tests.builds.conftest import CONCLUDE_TIMEOUT, LiveDockyard
from tests.runs.conftest import busybox_job

pytestmark = pytest.mark.e2e


def test_sdk_runs(live: LiveDockyard) -> None:
    token = live.http.headers["Authorization"].removeprefix("Bearer ")
    sdk = ApiClient(context=ApiClientContext(api_token=token, base_url=live.process.url))
    job = busybox_job(live, "sdk run", 'echo "sdk says $WHO"', runtimeEnvironment={"WHO": "hi"})
    ids = {"project_id": live.project, "job_id": job}

    started = sdk.start.job.run(**ids, data={"runtimeEnvironment": {"WHO": "hello"}}).data
    assert started["runName"].startswith(f"{job}-")

    deadline = time.monotonic() + CONCLUDE_TIMEOUT
    while not (run := sdk.get.job.run(**ids, run_id=started["id"]).data)["concluded"]:
        assert time.monotonic() < deadline, run
        time.sleep(0.2)
    assert run["status"] == "SUCCESS" and run["succeeded"] == 1
    assert {"active", "backoffLimit", "completions", "failed", "startedAt", "concludedAt"} <= set(
        run
    )

    listed = sdk.get.job.runs(**ids).data["runs"]
    assert [r["id"] for r in listed] == [started["id"]]

    longer = busybox_job(
        live, "sdk aborted", "trap 'exit 143' TERM; while true; do sleep 0.2; done"
    )
    other = {"project_id": live.project, "job_id": longer}
    running = sdk.start.job.run(**other, data={}).data
    sdk.abort.job.run(**other, run_id=running["id"])
    deadline = time.monotonic() + CONCLUDE_TIMEOUT
    while not (aborted := sdk.get.job.run(**other, run_id=running["id"]).data)["concluded"]:
        assert time.monotonic() < deadline, aborted
        time.sleep(0.2)
    assert aborted["status"] == "FAILED"
