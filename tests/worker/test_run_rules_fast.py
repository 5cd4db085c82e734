"""The run pipeline's rules in milliseconds, on the memory engine (dockyard.engine.memory):
retries within backoffLimit, the back-off between attempts (10 s doubled, at most 6 min),
activeDeadlineSeconds, health checks, a container that cannot start, an image that cannot
be pulled. The database (SQLite in a temp dir), the API that asks for the run and the
worker's RunDispatcher and RunRunner are the real ones; only the engine and the clock are
not: back-offs are recorded instead of waited, and the event loop's clock (deadlines) moves
when a test says so. The same rules on real containers: tests/runs/test_runs.py."""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from dockyard.app import create_app
from dockyard.config import Settings
from dockyard.db.session import Database
from dockyard.engine.memory import KILLED, Behaviour, MemoryContainers, in_turn
from dockyard.runs import repository
from dockyard.runs.models import JobRun
from dockyard.runs.recipe import DEFAULT_GRACE_SECONDS
from dockyard.runs.status import RunStatus, move_run
from dockyard.secrets.crypto import SecretBox
from dockyard.worker.runs import RunDispatcher
from tests.conftest import issue_token
from tests.helpers import IMAGE_JOB, created_id, minimal_job

pytestmark = pytest.mark.timeout(30)  # a rule broken may leave a run hanging

FAILS = Behaviour(lines=["failing"], exit_code=1)
SUCCEEDS = Behaviour(lines=["done"])
HANGS = Behaviour(lines=["started"], exit_code=None)
JOB_NUMBERS = itertools.count(1)


class SteppedLoop(asyncio.SelectorEventLoop):
    """An event loop whose clock a test moves on: `advance(seconds)` makes every timer due
    within them (asyncio.sleep, asyncio.timeout) fire at its next turn."""

    advanced = 0.0

    def time(self) -> float:
        return super().time() + self.advanced

    def advance(self, seconds: float) -> None:
        self.advanced += seconds


@dataclass
class Api:
    client: TestClient
    settings: Settings
    project: str


@dataclass
class Outcome:
    run: dict[str, Any]  # as the API shows it
    lines: list[str]  # the run's stored log lines
    delays: list[float] = field(default_factory=list)  # the back-offs waited, in seconds


@pytest.fixture(scope="module")
def api(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Api]:
    """One app and database for the module (a migration per test would cost more than the
    tests); health checks 1000 times faster than in production."""
    settings = Settings(
        data_dir=tmp_path_factory.mktemp("fast") / "data",
        registry="127.0.0.1:1",
        registry_autostart=False,
        probe_time_scale=0.001,
    )
    token = issue_token(settings, name="admin", is_admin=True)
    with TestClient(create_app(settings)) as client:
        client.headers["Authorization"] = f"Bearer {token}"
        created = client.post("/v1/projects", json={"name": "Fast Runs"})
        assert created.status_code == 200, created.text
        project = created.json()["data"]["id"]
        yield Api(client, settings, project)


Meanwhile = Callable[[SteppedLoop], Awaitable[None]]


def run_job(
    api: Api, engine: MemoryContainers, meanwhile: Meanwhile | None = None, **job: Any
) -> Outcome:
    """Ask for a run of a job with the fields `job` through the API, let a worker on `engine`
    drive it to its end (with `meanwhile` beside it: a test's moves of the clock), and read
    it back through the API."""
    body = minimal_job(f"job {next(JOB_NUMBERS)}", **IMAGE_JOB | job)
    job_id = created_id(api.client, api.project, "/jobs/manual", body)
    run_id = created_id(api.client, api.project, f"/jobs/{job_id}/runs", {})
    outcome = Outcome({}, [])

    async def drive() -> None:
        loop = asyncio.get_running_loop()
        assert isinstance(loop, SteppedLoop)

        async def sleep(seconds: float) -> None:
            outcome.delays.append(seconds)
            loop.advance(seconds)
            await asyncio.sleep(0)

        database = Database(api.settings.resolved_database_url)
        box = SecretBox.from_settings(api.settings)
        worker = RunDispatcher(
            api.settings, database, box, engine, "fast-worker", asyncio.Event(), sleep
        )
        try:
            await worker.tick()
            [running] = worker.running.values()
            if meanwhile is not None:
                await meanwhile(loop)
            await running.task
        finally:
            await database.dispose()

    with asyncio.Runner(loop_factory=SteppedLoop) as runner:
        runner.run(drive())
    path = f"/v1/projects/{api.project}/jobs/{job_id}"
    outcome.run = api.client.get(f"{path}/runs/{run_id}").json()["data"]
    logs = api.client.get(
        f"{path}/logs", params={"runId": run_id, "direction": "forward", "lineLimit": 1000}
    )
    outcome.lines = [entry["log"] for entry in logs.json()["data"]]
    return outcome


def counts(outcome: Outcome) -> tuple[str, int, int, int]:
    run = outcome.run
    return run["status"], run["succeeded"], run["failed"], run["active"]


def test_failed_attempts_are_retried_until_past_the_backoff_limit(api: Api) -> None:
    engine = MemoryContainers(in_turn(FAILS))

    outcome = run_job(api, engine, backoffLimit=2)

    assert counts(outcome) == ("FAILED", 0, 3, 0)
    assert outcome.run["message"] == (
        "BackoffLimitExceeded: 3 failed attempts (backoffLimit 2); the last: exit code 1"
    )
    run_id = outcome.run["id"]
    assert [c.spec.name for c in engine.containers] == [
        f"dockyard-run-{run_id}-{attempt}" for attempt in (1, 2, 3)
    ]
    assert all(c.removed for c in engine.containers)
    assert outcome.lines.count("failing") == 3
    assert outcome.delays == pytest.approx([10, 20], abs=0.5), "no back-off after the last"


def test_a_success_ends_the_retries(api: Api) -> None:
    engine = MemoryContainers(in_turn(FAILS, FAILS, SUCCEEDS))

    outcome = run_job(api, engine, backoffLimit=5)

    assert counts(outcome) == ("SUCCESS", 1, 2, 0)
    assert "message" not in outcome.run
    assert len(engine.containers) == 3
    assert outcome.delays == pytest.approx([10, 20], abs=0.5)


def test_no_retry_with_backoff_limit_zero(api: Api) -> None:
    engine = MemoryContainers(in_turn(FAILS))

    outcome = run_job(api, engine, backoffLimit=0)

    assert counts(outcome) == ("FAILED", 0, 1, 0)
    assert len(engine.containers) == 1
    assert outcome.delays == []


def test_the_back_off_doubles_from_10_seconds_up_to_6_minutes(api: Api) -> None:
    outcome = run_job(api, MemoryContainers(in_turn(FAILS)), backoffLimit=8)

    expected = [10, 20, 40, 80, 160, 320, 360, 360]
    assert outcome.delays == pytest.approx(expected, abs=0.5)
    retrying = [line for line in outcome.lines if "retrying in" in line]
    assert retrying == [
        f"Attempt {n} failed (exit code 1); retrying in {seconds:.1f} s"
        for n, seconds in enumerate(expected, start=1)
    ]
    assert counts(outcome) == ("FAILED", 0, 9, 0)


def test_the_active_deadline_stops_the_running_attempt(api: Api) -> None:
    engine = MemoryContainers(in_turn(HANGS))
    still_running_at_590 = []

    async def pass_the_deadline(loop: SteppedLoop) -> None:
        container = await engine.watched.get()
        loop.advance(590)
        await asyncio.sleep(0.01)
        still_running_at_590.append(container.running)
        loop.advance(10)

    outcome = run_job(api, engine, pass_the_deadline, activeDeadlineSeconds=600, backoffLimit=3)

    assert still_running_at_590 == [True]
    assert counts(outcome) == ("FAILED", 0, 0, 0)
    assert outcome.run["message"] == "DeadlineExceeded: the run took longer than 600 s"
    [container] = engine.containers
    assert (container.exit_code, container.removed) == (KILLED, True)
    assert container.stopped_with_grace == DEFAULT_GRACE_SECONDS
    assert "started" in outcome.lines


def test_the_active_deadline_counts_the_back_off_between_attempts(api: Api) -> None:
    engine = MemoryContainers(in_turn(FAILS))

    outcome = run_job(api, engine, activeDeadlineSeconds=25, backoffLimit=5)

    assert outcome.delays == pytest.approx([10, 20], abs=0.5), "past 25 s in the second"
    assert counts(outcome) == ("FAILED", 0, 2, 0)
    assert outcome.run["message"] == "DeadlineExceeded: the run took longer than 25 s"
    assert len(engine.containers) == 2


def test_a_container_that_cannot_start_is_a_failed_attempt(api: Api) -> None:
    refused = Behaviour(start_error='exec: "serve": executable file not found')
    engine = MemoryContainers(in_turn(refused, SUCCEEDS))

    outcome = run_job(api, engine, backoffLimit=1)

    assert counts(outcome) == ("SUCCESS", 1, 1, 0)
    name = f"dockyard-run-{outcome.run['id']}-1"
    why = f"the container could not start: Container {name} cannot start: {refused.start_error}"
    assert f"Attempt 1 failed ({why}); retrying in 10.0 s" in outcome.lines
    assert [c.spec.name[-2:] for c in engine.containers] == ["-2"]


def test_an_image_that_cannot_be_pulled_is_retried(api: Api) -> None:
    engine = MemoryContainers(in_turn(SUCCEEDS), pull_failures=1)

    outcome = run_job(api, engine, backoffLimit=1)

    assert counts(outcome) == ("SUCCESS", 1, 1, 0)
    assert engine.pulls == ["local/busybox:1", "local/busybox:1"]
    assert "Attempt 1: Image local/busybox:1 cannot be pulled: the registry refused it" in (
        outcome.lines
    )
    assert len(engine.containers) == 1
    assert outcome.delays == pytest.approx([10], abs=0.5)


def test_a_job_for_another_architecture_fails_without_an_attempt(api: Api) -> None:
    engine = MemoryContainers(architecture="x86")

    outcome = run_job(api, engine, backoffLimit=3, infrastructure={"architecture": "arm"})

    assert counts(outcome) == ("FAILED", 0, 0, 0)
    assert outcome.run["message"] == "The job needs architecture 'arm'; this engine runs 'x86'"
    assert (engine.pulls, engine.containers) == ([], [])


def check(kind: str, **fields: Any) -> dict[str, Any]:
    return {
        "protocol": "CMD",
        "type": kind,
        "cmd": "check",
        "initialDelaySeconds": 1,
        "periodSeconds": 10,
        "timeoutSeconds": 1,
        "failureThreshold": 3,
    } | fields


@pytest.mark.parametrize(
    ("kind", "answers", "checks_run", "why"),
    [
        ("livenessProbe", (0, 1), 4, "Liveness probe failed 3 times: CMD check"),
        ("startupProbe", (1,), 3, "Startup probe failed 3 times: CMD check"),
    ],
)
def test_a_probe_that_gives_up_ends_the_attempt(
    api: Api, kind: str, answers: tuple[int, ...], checks_run: int, why: str
) -> None:
    engine = MemoryContainers(in_turn(Behaviour(exit_code=None, checks=answers)))

    outcome = run_job(api, engine, backoffLimit=0, healthChecks=[check(kind)])

    assert counts(outcome) == ("FAILED", 0, 1, 0)
    assert outcome.run["message"] == (
        f"BackoffLimitExceeded: 1 failed attempts (backoffLimit 0); the last: {why}"
    )
    [container] = engine.containers
    assert container.execs == [["check"]] * checks_run
    assert (container.exit_code, container.removed) == (KILLED, True)


def test_passing_probes_let_the_attempt_run_to_its_exit(api: Api) -> None:
    engine = MemoryContainers(in_turn(Behaviour(checks=(0, 0, 0))))

    outcome = run_job(api, engine, backoffLimit=0, healthChecks=[check("livenessProbe")])

    assert counts(outcome) == ("SUCCESS", 1, 0, 0)
    assert len(engine.containers[0].execs) == 3
    assert engine.containers[0].stopped_with_grace is None


def test_readiness_is_reported_and_never_ends_the_attempt(api: Api) -> None:
    engine = MemoryContainers(in_turn(Behaviour(checks=(1, 0))))
    readiness = check("readinessProbe", failureThreshold=1, successThreshold=1)

    outcome = run_job(api, engine, backoffLimit=0, healthChecks=[readiness])

    assert counts(outcome) == ("SUCCESS", 1, 0, 0)
    reported = [line for line in outcome.lines if "ready" in line.lower()]
    assert reported == ["Not ready: CMD check", "Ready: CMD check"]


def test_a_runner_whose_row_was_deleted_never_writes_to_the_run_that_took_its_pk(
    api: Api,
) -> None:
    """SQLite hands a deleted row's pk to the next row inserted: a runner still driving a run
    of a deleted job must not conclude (or update) the newer run that now has that pk."""

    def queued_run() -> tuple[str, str]:
        body = minimal_job(f"job {next(JOB_NUMBERS)}", **IMAGE_JOB)
        job_id = created_id(api.client, api.project, "/jobs/manual", body)
        return job_id, created_id(api.client, api.project, f"/jobs/{job_id}/runs", {})

    async def claimed(database: Database, run_id: str) -> JobRun:
        async with database.sessions() as session:
            run = (await session.execute(select(JobRun).where(JobRun.id == run_id))).scalar_one()
            assert await move_run(session, run, RunStatus.RUNNING, claimed_by="worker")
            await session.commit()
            return run

    async def check() -> None:
        database = Database(api.settings.resolved_database_url)
        try:
            old_job, old_run = queued_run()
            stale = await claimed(database, old_run)
            deleted = api.client.delete(f"/v1/projects/{api.project}/jobs/{old_job}")
            assert deleted.status_code == 200, deleted.text
            newer = await claimed(database, queued_run()[1])
            assert newer.pk == stale.pk, "the case needs the pk reused"
            async with database.sessions() as session:
                expected = {"status": RunStatus.RUNNING.value, "claimed_by": "worker"}
                assert not await repository.compare_and_set(session, stale, expected, {"active": 1})
                assert not await repository.is_claimed_by(session, stale, "worker")
                assert not await move_run(session, stale, RunStatus.FAILED, held_by="worker")
                await session.commit()
            async with database.sessions() as session:
                found = (
                    await session.execute(select(JobRun).where(JobRun.pk == newer.pk))
                ).scalar_one()
                assert (found.id, found.status, found.active) == (newer.id, "RUNNING", 0)
        finally:
            await database.dispose()

    asyncio.run(check())


def test_a_wake_between_lease_renewals_aborts_at_once_without_renewing(api: Api) -> None:
    """Ticks come at every wake (each POST, each run's end); leases are renewed once a poll
    interval, abort requests looked at on every tick."""
    engine = MemoryContainers(in_turn(HANGS))
    settings = api.settings.model_copy(update={"worker_poll_seconds": 3600.0})
    job_id = created_id(api.client, api.project, "/jobs/manual", minimal_job("paced", **IMAGE_JOB))
    run_path = f"/v1/projects/{api.project}/jobs/{job_id}/runs"
    run_id = created_id(api.client, api.project, f"/jobs/{job_id}/runs", {})

    async def heartbeat(database: Database) -> object:
        async with database.sessions() as session:
            statement = select(JobRun.heartbeat_at).where(JobRun.id == run_id)
            return (await session.execute(statement)).scalar_one()

    async def drive() -> None:
        database = Database(settings.resolved_database_url)
        box = SecretBox.from_settings(settings)
        worker = RunDispatcher(settings, database, box, engine, "paced-worker", asyncio.Event())
        try:
            await worker.tick()  # claims the run, renews the lease (the first tick does)
            [running] = worker.running.values()
            await engine.watched.get()
            renewed = await heartbeat(database)
            await worker.tick()
            assert await heartbeat(database) == renewed, "renewed again within the interval"
            aborted = await asyncio.to_thread(api.client.delete, f"{run_path}/{run_id}")
            assert aborted.status_code == 200, aborted.text
            await worker.tick()
            await asyncio.wait_for(running.task, 10)
        finally:
            await database.dispose()

    asyncio.run(drive())
    run = api.client.get(f"{run_path}/{run_id}").json()["data"]
    assert (run["status"], run["message"]) == ("FAILED", "Aborted by request")
