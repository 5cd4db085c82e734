"""Crash safety under SIGKILL, in the test suite.

- The crash soak in its short mode (see `tests.reliability.soak`): a few kill-and-restart
  cycles of `dockyard up`, and of a lone worker beside a live API, while builds and runs
  stream in; nothing accepted is lost, everything concludes, no attempt runs twice, no
  container or build dir is left over. `bench/crash_soak.py` runs the long mode.
- Its findings, pinned down on runs left as a SIGKILLed worker leaves them: a run whose last
  attempt was counted but which was not concluded yet got one attempt too many from the next
  worker (a second success, or an attempt past backoffLimit), and its counted container
  stayed behind; a run whose container was started but whose start was not recorded kept
  no startedAt (so activeDeadlineSeconds was not enforced). The next worker now concludes
  the first kind without another attempt, removing the container, and records the start of
  the second.
"""

from __future__ import annotations

import contextlib
import os
import random
import sqlite3
import time
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import docker
import pytest

from tests.live import DOCKER_HOST
from tests.reliability.soak import (
    PROCESS_ENV,
    RUN_JOBS,
    ContainerWatch,
    Mode,
    RunJob,
    WorkerCluster,
    api_client,
    busybox_job_body,
    data_of,
    remove_containers,
    run_soak,
)

pytestmark = pytest.mark.e2e

SHORT_CYCLES = 4
TAKEOVER_SECONDS = 60.0


@pytest.mark.parametrize(
    "mode", ["up", "worker", pytest.param("workers", marks=pytest.mark.postgres)]
)
def test_crash_soak_loses_nothing_and_leaves_nothing(
    request: pytest.FixtureRequest, tmp_path: Path, mode: Mode
) -> None:
    """Mode "workers": three workers on one PostgreSQL database, a random one killed each
    cycle; what it drove is taken over by the others (or by itself, started again)."""
    seed = int(os.environ.get("DOCKYARD_SOAK_SEED", random.randrange(1_000_000)))
    database_url = request.getfixturevalue("empty_postgres_database") if mode == "workers" else None
    report = run_soak(tmp_path, SHORT_CYCLES, mode, seed, database_url=database_url)
    print(report.summary())
    assert report.ok, report.summary()
    assert report.kills == SHORT_CYCLES
    assert report.builds_accepted > 0 and report.runs_accepted > 0, report.summary()


@dataclass(frozen=True)
class Leftover:
    """A run as a SIGKILLed worker left it: `attempt` begun, its exited container still there,
    `counts` written and, if `counted`, the attempt's exit among them; how the run must end."""

    name: str
    job: RunJob
    attempt: int
    counts: dict[str, int]
    counted: bool
    ends: tuple[str, int, int]


QUICK, _, FAILING = RUN_JOBS
LEFTOVERS = [
    # Killed after counting the run's only attempt, a success, before concluding it.
    Leftover("counted success", QUICK, 1, {"succeeded": 1}, True, ("SUCCESS", 1, 0)),
    # Killed after counting the attempt past backoffLimit, before concluding the run.
    Leftover("counted last failure", FAILING, 2, {"failed": 2}, True, ("FAILED", 0, 2)),
    # Killed after starting the first attempt's container, before recording the start.
    Leftover("unrecorded start", QUICK, 1, {}, False, ("SUCCESS", 1, 0)),
]


def leave_run(data_dir: Path, project: str, run_id: str, leftover: Leftover) -> None:
    name = f"dockyard-run-{run_id}-{leftover.attempt}"
    with docker.APIClient(base_url=DOCKER_HOST) as api:
        container = api.create_container(
            "local/busybox:1",
            command=["true"],
            name=name,
            labels={
                "dockyard.run": run_id,
                "dockyard.project": project,
                "dockyard.job": leftover.job.name,
                "dockyard.attempt": str(leftover.attempt),
            },
            host_config=api.create_host_config(network_mode="none"),
        )
        api.start(container["Id"])
        api.wait(container["Id"], timeout=30)
    now = datetime.now(UTC).strftime("%Y-%m-%d %H:%M:%S.%f")
    columns = {
        "status": "RUNNING",
        "claimed_by": "dead-worker",
        "heartbeat_at": None,
        "attempt": leftover.attempt,
        "active": 0,
        "container_name": None if leftover.counted else name,
        "started_at": now if leftover.counted else None,
        **leftover.counts,
    }
    assignments = ", ".join(f"{column} = ?" for column in columns)
    with contextlib.closing(sqlite3.connect(data_dir / "dockyard.db")) as db:
        db.execute(f"UPDATE job_runs SET {assignments} WHERE id = ?", [*columns.values(), run_id])
        db.commit()


@pytest.mark.parametrize("leftover", LEFTOVERS, ids=lambda leftover: leftover.name)
def test_a_run_left_by_a_killed_worker_is_finished_without_another_attempt(
    tmp_path: Path, leftover: Leftover
) -> None:
    job = leftover.job
    project = f"takeover-{uuid.uuid4().hex[:8]}"
    cluster = WorkerCluster(tmp_path / "dockyard", dict(PROCESS_ENV))
    watch: ContainerWatch | None = None
    try:
        token = cluster.start_api()  # no worker yet: the run stays queued
        with api_client(cluster.url, token) as http:
            data_of(http.post("/projects", json={"name": project}))
        with api_client(cluster.url, token, project) as http:
            data_of(http.post("/jobs/manual", json=busybox_job_body(job)))
            run_id = data_of(http.post(f"/jobs/{job.name}/runs", json={}))["id"]
            leave_run(cluster.data_dir, project, run_id, leftover)
            watch = ContainerWatch(project)
            watch.start()

            cluster.restart()  # a worker, which takes the run over
            run = wait_concluded(lambda: data_of(http.get(f"/jobs/{job.name}/runs/{run_id}")))

        assert (run["status"], run["succeeded"], run["failed"]) == leftover.ends
        assert run["startedAt"] is not None
        assert watch.attempts_of(run_id) == {}, "no further attempt started"
        assert watch.leftovers() == [], "the counted attempt's container is removed"
    finally:
        if watch is not None:
            watch.close()
        cluster.close()
        remove_containers(project)


def wait_concluded(get: Any) -> dict[str, Any]:
    deadline = time.monotonic() + TAKEOVER_SECONDS
    while not (run := get())["concluded"]:
        assert time.monotonic() < deadline, f"the run is still {run['status']}"
        time.sleep(0.2)
    result: dict[str, Any] = run
    return result
