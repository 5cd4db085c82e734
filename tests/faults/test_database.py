"""The database goes away under a live dockyard (issue 21, items 3 and 5), on the real Docker
engine, BuildKit, registry and git, with a PostgreSQL server of the test's own:

- PostgreSQL restarted (stopped for some seconds, started again) and a SQLite file locked by
  another process, while builds and runs stream in and runs are in their containers;
- a worker cut off from PostgreSQL (a black-holing proxy) for longer than its lease while
  another worker shares the database.

Helpers (`tests.faults.database`): `PostgresCluster` (its `begin`/`end` stop and start the
server), `SqliteLock`, `BlackHoleProxy`, `DatabaseFaultSoak` (a cycle of any of them).
"""

from __future__ import annotations

import random
import signal
import time
import uuid
from collections.abc import Callable
from pathlib import Path

import httpx
import pytest

from dockyard.config import Settings
from tests.conftest import issue_token
from tests.faults.database import (
    UNAVAILABLE,
    BlackHoleProxy,
    DatabaseFaultSoak,
    PostgresCluster,
    SqliteLock,
    postgres_cluster,
    statuses,
    take_unavailable,
)
from tests.live import DockyardProcess
from tests.reliability.soak import (
    PROCESS_ENV,
    ContainerWatch,
    RunJob,
    SoakReport,
    api_client,
    busybox_job_body,
    data_of,
    remove_containers,
)

pytestmark = pytest.mark.e2e

DRAIN_SECONDS = 90.0
# SQLite writers wait this long for a lock before the request is answered 503 (30 s by
# default); the test's lock outlasts it as a 30 s lock outlasts the default.
SQLITE_BUSY_SECONDS = "2"
SQLITE_LOCK_SECONDS = 5.0


def check_soak(soak: DatabaseFaultSoak, report: SoakReport) -> int:
    """Nothing lost, duplicated, stuck or left over (the crash soak's checks); every answer an
    API 200 or 503 database-unavailable, none missing; the runs whose container exited while
    the database was gone concluded as their job makes them end. How many POSTs were
    answered 503."""
    unavailable = take_unavailable(report)
    print(report.summary())
    print(
        f"probe answers: {sorted(statuses(soak.answers).items())}; POSTs answered 503: "
        f"{unavailable}; runs that exited meanwhile: {len(soak.exited_meanwhile)}"
    )
    assert report.ok, report.summary()
    assert report.not_accepted == 0, "every request is answered, none times out"
    assert set(report.builds_by_status) == {"SUCCESS"}, "builds carry on, none fails"
    assert set(statuses(soak.answers)) <= {"200", f"503 {UNAVAILABLE}"}, statuses(soak.answers)
    assert soak.exited_meanwhile, "a container exited while the database was gone"
    return unavailable


@pytest.fixture(autouse=True)
def builds_without_network(monkeypatch: pytest.MonkeyPatch) -> None:
    """The soak's build steps need no network: they do not depend on the engine's bridge."""
    monkeypatch.setitem(PROCESS_ENV, "DOCKYARD_BUILD_NETWORK", "none")


@pytest.mark.postgres
def test_postgres_restarted_under_load_loses_nothing(tmp_path: Path) -> None:
    """The user sees requests answered 503 "database-unavailable" (never 500, never no
    answer) while PostgreSQL is down, and 200 again once it is back, without restarting
    dockyard; builds and runs carry on: a run whose container exited meanwhile gets its true
    final state, no attempt starts twice."""
    with postgres_cluster() as postgres:
        soak = DatabaseFaultSoak(
            tmp_path, "up", random.randrange(1_000_000), postgres.url, fault=postgres
        )
        report = soak.run(cycles=1, drain_seconds=DRAIN_SECONDS)
    unavailable = check_soak(soak, report)
    assert unavailable + statuses(soak.answers)[f"503 {UNAVAILABLE}"] > 0


def test_sqlite_locked_by_another_process_loses_nothing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Another process holds the SQLite file locked (BEGIN EXCLUSIVE) for 5 s here, with
    writers waiting 2 s for a lock (DOCKYARD_SQLITE_BUSY_SECONDS; by default a 30 s lock
    against 30 s, the same behaviour): the user's reads are answered, writes get 503
    "database-unavailable" once they waited that long, and everything is normal after."""
    monkeypatch.setitem(PROCESS_ENV, "DOCKYARD_SQLITE_BUSY_SECONDS", SQLITE_BUSY_SECONDS)
    soak = DatabaseFaultSoak(
        tmp_path,
        "up",
        random.randrange(1_000_000),
        fault=SqliteLock(tmp_path / "dockyard" / "dockyard.db"),
        down_seconds=SQLITE_LOCK_SECONDS,
    )
    report = soak.run(cycles=1, drain_seconds=DRAIN_SECONDS)
    assert check_soak(soak, report) > 0, "a write waiting past the busy timeout gets 503"


TICKS = 12
TICKING = RunJob(
    "ticking",
    "for i in "
    + " ".join(str(i) for i in range(1, TICKS + 1))
    + "; do echo tick $i; sleep 1; done",
    0,
    True,
    0,
)
CUT_OFF_LEASE = {"DOCKYARD_WORKER_LEASE_SECONDS": "2", "DOCKYARD_WORKER_POLL_SECONDS": "0.5"}
WITHIN_SECONDS = 30.0


def wait_for_line(output: Callable[[], str], text: str) -> None:
    deadline = time.monotonic() + WITHIN_SECONDS
    while text not in output():
        assert time.monotonic() < deadline, f"{text!r} not seen in:\n{output()}"
        time.sleep(0.1)


@pytest.mark.postgres
def test_worker_cut_off_longer_than_its_lease_lets_go_of_its_run(tmp_path: Path) -> None:
    """The worker driving a run loses its database (its connection hangs: a proxy stops
    forwarding) for longer than its lease: the other worker takes the run over on the same
    container; when the first one's database answers again, it sees the run is no longer its
    own and lets go of it while the container still runs. The user sees one run, one attempt,
    every line of its output once, SUCCESS."""
    project = f"cutoff-{uuid.uuid4().hex[:8]}"
    data_dir = tmp_path / "dockyard"
    with postgres_cluster() as postgres:
        proxies = [BlackHoleProxy(postgres.port), BlackHoleProxy(postgres.port)]
        env = {**PROCESS_ENV, **CUT_OFF_LEASE, "DOCKYARD_DATABASE_URL": postgres.url}
        token = issue_token(Settings(data_dir=data_dir, database_url=postgres.url), is_admin=True)
        api = DockyardProcess(data_dir=data_dir, command="api", env=env)
        workers = [
            DockyardProcess(
                data_dir=data_dir,
                command="worker",
                env={**env, "DOCKYARD_DATABASE_URL": proxied(postgres, proxy)},
                port=api.port,
                registry_port=api.registry_port,
            )
            for proxy in proxies
        ]
        watch: ContainerWatch | None = None
        try:
            for process in [api, *workers]:  # all at once: a start takes seconds
                process.start()
            api.wait_ready()
            for worker in workers:
                wait_for_line(worker.output, "worker started")
            with api_client(api.url, token) as http:
                data_of(http.post("/projects", json={"name": project}))
            http = api_client(api.url, token, project)
            data_of(http.post("/jobs/manual", json=busybox_job_body(TICKING)))
            watch = ContainerWatch(project)
            watch.start()
            run_id = data_of(http.post(f"/jobs/{TICKING.name}/runs", json={}))["id"]
            # Cut off mid-run, not in the burst of writes of the attempt's start.
            wait_for_line(lambda: "\n".join(run_lines(http, run_id)), "tick 2")
            driving = next(i for i, w in enumerate(workers) if run_id in w.output())
            first, second = workers[driving], workers[1 - driving]

            proxies[driving].pause()
            wait_for_line(second.output, f"abandoned run taken over       run={run_id}")
            proxies[driving].resume()
            # At its next lease renewal ("letting go"), or at its next write to the run.
            wait_for_line(first.output, "run taken over elsewhere")
            assert watch.leftovers(), "the first worker let go while the container still ran"

            run = wait_concluded(http, f"/jobs/{TICKING.name}/runs/{run_id}")
            lines = run_lines(http, run_id)
        finally:
            if watch is not None:
                watch.close()
            for process in [*workers, api]:
                if process.process is not None and process.process.poll() is None:
                    process.stop(signal.SIGKILL)
            for proxy in proxies:
                proxy.close()
            remove_containers(project)
    assert (run["status"], run["succeeded"], run["failed"]) == ("SUCCESS", 1, 0), run
    assert watch.attempts_of(run_id) == {1: 1}, "one container, of attempt 1"
    ticks = [line for line in lines if line.startswith("tick")]
    assert ticks == [f"tick {i}" for i in range(1, TICKS + 1)], lines


def proxied(postgres: PostgresCluster, proxy: BlackHoleProxy) -> str:
    return postgres.url.replace(f":{postgres.port}/", f":{proxy.port}/")


def wait_concluded(http: httpx.Client, path: str) -> dict[str, object]:
    deadline = time.monotonic() + WITHIN_SECONDS
    while not (run := data_of(http.get(path)))["concluded"]:
        assert time.monotonic() < deadline, f"the run is still {run['status']}"
        time.sleep(0.2)
    concluded: dict[str, object] = run
    return concluded


def run_lines(http: httpx.Client, run_id: str) -> list[str]:
    entries = data_of(http.get(f"/jobs/{TICKING.name}/logs", params={"runId": run_id}))
    return [entry["log"] for entry in reversed(entries)]  # newest first
