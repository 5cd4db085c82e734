"""On PostgreSQL, a worker in another process than the API hears of new work through
NOTIFY: with a poll interval far longer than the test, a run still starts and ends at once."""

from __future__ import annotations

import time
import uuid
from pathlib import Path

import pytest

from tests.reliability.soak import (
    PROCESS_ENV,
    RUN_JOBS,
    WorkerCluster,
    api_client,
    busybox_job_body,
    data_of,
    remove_containers,
)

pytestmark = [pytest.mark.e2e, pytest.mark.postgres]

POLL_SECONDS = 600.0
WITHIN_SECONDS = 60.0


def test_a_separate_worker_is_woken_by_the_api(
    tmp_path: Path, empty_postgres_database: str
) -> None:
    env = PROCESS_ENV | {
        "DOCKYARD_DATABASE_URL": empty_postgres_database,
        "DOCKYARD_WORKER_POLL_SECONDS": str(POLL_SECONDS),
    }
    quick = RUN_JOBS[0]
    project = f"notified-{uuid.uuid4().hex[:8]}"
    cluster = WorkerCluster(tmp_path / "dockyard", env, workers=2)
    try:
        token = cluster.start()  # each worker's first tick finds nothing; then they sleep
        with api_client(cluster.url, token) as http:
            data_of(http.post("/projects", json={"name": project}))
        with api_client(cluster.url, token, project) as http:
            data_of(http.post("/jobs/manual", json=busybox_job_body(quick)))
            runs = [data_of(http.post(f"/jobs/{quick.name}/runs", json={}))["id"] for _ in "ab"]
            deadline = time.monotonic() + WITHIN_SECONDS
            for run_id in runs:
                while not (run := data_of(http.get(f"/jobs/{quick.name}/runs/{run_id}")))[
                    "concluded"
                ]:
                    assert time.monotonic() < deadline, f"run {run_id} still {run['status']}"
                    time.sleep(0.2)
                assert run["status"] == "SUCCESS", run
    finally:
        cluster.close()
        remove_containers(project)
