"""Clock steps: one dockyard process's wall clock moved an hour ahead or back while it works
(libfaketime, see tests/faults/clock.py), the engine's, the database's and the other
processes' clocks left alone.

An API and `dockyard worker` processes on one PostgreSQL database, as on several machines:

- leases: a worker an hour ahead does not take over another's live run, and the run of a dead
  worker whose clock was an hour ahead is still taken over;
- deadlines: a run is neither killed early nor left to run past its activeDeadlineSeconds;
- cron: a step ahead starts one run, not the hour of due times it skipped; stepped back, the
  schedule goes on at once and starts no due time twice.

Log and image retention use the wall clock on purpose: they judge the age of rows and images
across restarts, which no monotonic clock spans, and their unit is the day (at least 1), so a
step of an hour moves the cut-off by that hour and removes nothing younger than 23 h.
"""

from __future__ import annotations

import contextlib
import signal
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import docker
import httpx
import pytest
from sqlalchemy import create_engine, text

from dockyard.db.session import sync_url
from tests.conftest import POSTGRES_URL, postgres_database
from tests.faults.clock import SteppedClock
from tests.live import DOCKER_HOST, DockyardProcess
from tests.reliability.soak import (
    PROCESS_ENV,
    RunJob,
    WorkerCluster,
    api_client,
    busybox_job_body,
    data_of,
)

pytestmark = pytest.mark.e2e

HOUR = 3600
# How far from a step's offset a clock reading may be and still show that step.
OFF_BY_SECONDS = 600
WORKER_LEASE_SECONDS = 2.0
# Attempts that end at once on SIGTERM (a shell as PID 1 ignores it otherwise).
FAILING_ATTEMPT = "trap 'exit 143' TERM; sleep 2 & wait; exit 1"
RELEASED = "/tmp/released"
UNTIL_RELEASED = f"trap 'exit 143' TERM; until [ -f {RELEASED} ]; do sleep 0.2; done"


def wait_until(
    read: Callable[[], dict[str, Any]], done: Callable[[dict[str, Any]], bool], timeout: float
) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while not done(value := read()):
        if time.monotonic() > deadline:
            pytest.fail(f"still {value} after {timeout} s")
        time.sleep(0.2)
    return value


# ---- an API and workers on one PostgreSQL database -----------------------------------------


@dataclass
class Cluster:
    api: WorkerCluster
    http: httpx.Client  # on the project
    database_url: str

    def worker(self, clock: SteppedClock | None = None) -> DockyardProcess:
        """A started `dockyard worker`, on a stepped clock if given."""
        worker = DockyardProcess(
            data_dir=self.api.data_dir,
            command="worker",
            env=self.api.api.env | (clock.env if clock else {}),
            port=self.api.api.port,
            registry_port=self.api.api.registry_port,
        )
        WorkerCluster.start_worker(worker)
        return worker

    def job(self, command: str, **fields: Any) -> str:
        """A new busybox job running `command`."""
        job = RunJob(f"j{time.time_ns()}", command, 0, True, 1.0)
        created = data_of(self.http.post("/jobs/manual", json=busybox_job_body(job) | fields))
        job_id: str = created["id"]
        return job_id

    def start_run(self, job_id: str) -> str:
        """The path of a new run of the job, once its first attempt is active."""
        run = data_of(self.http.post(f"/jobs/{job_id}/runs", json={}))
        path = f"/jobs/{job_id}/runs/{run['id']}"
        wait_until(lambda: self.run(path), lambda run: run["active"] == 1, 60)
        return path

    def run(self, path: str) -> dict[str, Any]:
        run: dict[str, Any] = data_of(self.http.get(path))
        return run

    def concluded(self, path: str, timeout: float) -> dict[str, Any]:
        return wait_until(lambda: self.run(path), lambda run: run["concluded"], timeout)

    def heartbeat(self, path: str) -> datetime:
        """The run's heartbeat as its worker last wrote it, with its clock."""
        engine = create_engine(sync_url(self.database_url))
        try:
            with engine.connect() as connection:
                query = text("SELECT heartbeat_at FROM job_runs WHERE id = :id")
                beat: datetime = connection.execute(query, {"id": run_id(path)}).scalar_one()
        finally:
            engine.dispose()
        return beat

    def wait_for_step(self, path: str, offset_seconds: int) -> None:
        """Until the run's heartbeat shows its worker's clock `offset_seconds` off: the step
        reached the worker (without it the case would pass for nothing)."""
        wait_until(
            lambda: {"off": (self.heartbeat(path) - datetime.now(UTC)).total_seconds()},
            lambda found: abs(found["off"] - offset_seconds) < OFF_BY_SECONDS,
            10,
        )


def logged_offset(worker: DockyardProcess) -> float:
    """How far ahead of real time the worker's clock was when it logged its start."""
    started = next(line for line in worker.lines if "worker started" in line)
    return (datetime.fromisoformat(started.split()[0]) - datetime.now(UTC)).total_seconds()


def run_id(path: str) -> str:
    return path.rsplit("/", 1)[1]


def release(path: str) -> None:
    """Let the first attempt of the run at `path` (running UNTIL_RELEASED) exit 0."""
    client = docker.DockerClient(base_url=DOCKER_HOST)
    try:
        container = client.containers.get(f"dockyard-run-{run_id(path)}-1")
        container.exec_run(["touch", RELEASED])
    finally:
        client.close()


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Cluster]:
    if not POSTGRES_URL:
        pytest.skip("DOCKYARD_TEST_POSTGRES_URL is not set: no PostgreSQL server here")
    with postgres_database(POSTGRES_URL) as url:
        api = WorkerCluster(
            tmp_path_factory.mktemp("clock"),
            PROCESS_ENV
            | {
                "DOCKYARD_DATABASE_URL": url,
                "DOCKYARD_WORKER_LEASE_SECONDS": str(WORKER_LEASE_SECONDS),
            },
            0,
        )
        try:
            token = api.start_api()
            project = data_of(api_client(api.url, token).post("/projects", json={"name": "Clock"}))
            with api_client(api.url, token, project["id"]) as http:
                yield Cluster(api, http, url)
        finally:
            api.close()


@contextlib.contextmanager
def workers(cluster: Cluster, *clocks: SteppedClock | None) -> Iterator[list[DockyardProcess]]:
    """Started workers, one per clock (None: the real one), stopped after the block."""
    started: list[DockyardProcess] = []
    try:
        for clock in clocks:
            started.append(cluster.worker(clock))
        yield started
    finally:
        for worker in started:
            if worker.process is not None and worker.process.poll() is None:
                worker.stop(signal.SIGTERM)


# ---- leases --------------------------------------------------------------------------------


def test_a_worker_an_hour_ahead_leaves_a_live_run_alone(cluster: Cluster, tmp_path: Path) -> None:
    """A worker whose clock is an hour ahead joins while another drives a run: the run stays
    with its worker and ends SUCCESS at its first attempt; the newcomer does not take it over
    (it would see every other worker's heartbeat as an hour old)."""
    with workers(cluster, None) as [first]:
        path = cluster.start_run(cluster.job(UNTIL_RELEASED))
        with workers(cluster, SteppedClock(tmp_path, HOUR)) as [ahead]:
            assert abs(logged_offset(ahead) - HOUR) < OFF_BY_SECONDS, ahead.output()
            time.sleep(WORKER_LEASE_SECONDS * 2)  # its ticks judge the run's lease meanwhile
            release(path)
            run = cluster.concluded(path, 30)
            assert (run["status"], run["succeeded"], run["failed"]) == ("SUCCESS", 1, 0), run
            assert "taken over" not in ahead.output() + first.output()


def test_a_dead_worker_an_hour_ahead_has_its_run_taken_over(
    cluster: Cluster, tmp_path: Path
) -> None:
    """The worker driving a run has its clock stepped an hour ahead, then dies (SIGKILL): the
    other worker takes the run over once the lease lapses, reattaches to the same container,
    and the run ends SUCCESS at its first attempt, instead of staying RUNNING until the dead
    worker's heartbeats look old by the living worker's clock an hour later."""
    clock = SteppedClock(tmp_path)
    with workers(cluster, clock) as [doomed]:
        path = cluster.start_run(cluster.job(UNTIL_RELEASED))
        clock.step_to(HOUR)
        cluster.wait_for_step(path, HOUR)
        doomed.stop(signal.SIGKILL)
    with workers(cluster, None) as [survivor]:
        wait_until(lambda: {"out": survivor.output()}, lambda o: "taken over" in o["out"], 30)
        release(path)
        run = cluster.concluded(path, 30)
        assert (run["status"], run["succeeded"], run["failed"]) == ("SUCCESS", 1, 0), run


# ---- deadlines -----------------------------------------------------------------------------


@pytest.fixture(scope="module")
def stepped_worker(
    cluster: Cluster, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[SteppedClock]:
    """The one worker of the tests below, on a clock they step (real at each test's start)."""
    clock = SteppedClock(tmp_path_factory.mktemp("stepped"))
    with workers(cluster, clock):
        yield clock


def test_run_deadlines_hold_when_the_clock_steps(
    cluster: Cluster, stepped_worker: SteppedClock
) -> None:
    """activeDeadlineSeconds is kept whatever the wall clock does: with the worker's clock
    stepped an hour ahead mid-run, a run whose attempts fail quickly uses up its backoffLimit
    (BackoffLimitExceeded) instead of being killed at its second attempt for a deadline it is
    far from; stepped an hour back, a run that keeps failing still ends at its 6 s deadline
    (DeadlineExceeded) instead of retrying for another hour."""
    clock = stepped_worker
    clock.step_to(0)
    quick = cluster.job(FAILING_ATTEMPT, backoffLimit=1, activeDeadlineSeconds=60)
    endless = cluster.job(FAILING_ATTEMPT, backoffLimit=100, activeDeadlineSeconds=6)
    path = cluster.start_run(quick)
    clock.step_to(HOUR)
    assert cluster.run(path)["failed"] == 0, "the step came after the first attempt"
    run = cluster.concluded(path, 30)
    cluster.wait_for_step(path, HOUR)
    assert (run["status"], run["failed"]) == ("FAILED", 2), run
    assert run["message"].startswith("BackoffLimitExceeded"), run

    clock.step_to(0)
    path = cluster.start_run(endless)
    clock.step_to(-HOUR)
    assert cluster.run(path)["failed"] == 0, "the step came after the first attempt"
    run = cluster.concluded(path, 30)
    cluster.wait_for_step(path, -HOUR)
    assert run["status"] == "FAILED", run
    assert run["message"].startswith("DeadlineExceeded"), run


# ---- cron ----------------------------------------------------------------------------------


def test_cron_keeps_its_schedule_across_clock_steps(
    cluster: Cluster, stepped_worker: SteppedClock
) -> None:
    """An every-minute cron job on a worker whose clock jumps an hour ahead starts a run for
    the latest due time only, not for the 60 it skipped; when the clock is set back, the schedule
    goes on with the next minute (not silent until the clock catches up with the hour), and
    no due time gets two runs."""
    job = cluster.job("true")
    manual = data_of(cluster.http.get(f"/jobs/{job}"))
    body = {key: manual[key] for key in ("name", "billing", "backoffLimit", "deployment")}
    data_of(cluster.http.put("/jobs/cron", json=body | {"schedule": "* * * * *"}))

    def due_times() -> list[datetime]:
        runs = data_of(cluster.http.get(f"/jobs/{job}/runs"))["runs"]
        return sorted(datetime.fromisoformat(run["scheduledAt"]) for run in runs)

    def later_than(moment: datetime) -> list[datetime]:
        return [due for due in due_times() if due > moment]

    clock = stepped_worker
    stepped_at = datetime.now(UTC)
    clock.step_to(HOUR)
    in_half_an_hour = stepped_at + timedelta(minutes=30)
    wait_until(lambda: {"due": later_than(in_half_an_hour)}, lambda found: found["due"], 20)
    time.sleep(2)  # more ticks of the scheduler on the stepped clock
    latest_due_at_the_step = (stepped_at + timedelta(hours=1)).replace(second=0, microsecond=0)
    assert min(later_than(in_half_an_hour)) >= latest_due_at_the_step, due_times()

    # Back by about an hour, to 3 s before a minute begins on the worker's clock.
    now = datetime.now(UTC)
    clock.step_to(57 - now.second)
    next_minute = (now + timedelta(seconds=60 - now.second)).replace(microsecond=0)
    wait_until(lambda: {"due": due_times()}, lambda found: next_minute in found["due"], 20)
    due = due_times()
    assert len(due) == len(set(due)), due
