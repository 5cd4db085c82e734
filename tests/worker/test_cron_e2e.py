"""Cron jobs on the real engine, with two workers on one database (`dockyard up` and a second
`dockyard worker`): every-minute schedules over two due times start their runs from the
schedule, exactly one per due time; Forbid starts nothing while its first run goes on;
Replace aborts its first run for the second; a suspended one starts nothing."""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from tests.builds.conftest import LiveDockyard
from tests.live import DockyardProcess
from tests.runs.conftest import busybox_job, serving

pytestmark = pytest.mark.e2e

FOREVER = "trap 'exit 143' TERM; while true; do sleep 0.2; done"
EVERY_MINUTE = {"schedule": "* * * * *"}
SETTLE = timedelta(seconds=25)


@pytest.fixture(scope="module")
def two_workers(
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[tuple[LiveDockyard, DockyardProcess]]:
    with serving(tmp_path_factory.mktemp("cron")) as live:
        first = live.process
        second = DockyardProcess(
            data_dir=first.data_dir,
            command="worker",
            env=first.env,
            registry_port=first.registry_port,
        ).start()
        try:
            deadline = time.monotonic() + 60
            while "worker started" not in second.output():
                assert time.monotonic() < deadline, second.output()
                time.sleep(0.2)
            yield live, second
        finally:
            second.stop()


def cron_job(live: LiveDockyard, name: str, command: str, policy: str) -> str:
    """A manual busybox job made a cron job by PUT (its fields plus the schedule)."""
    job_id = busybox_job(live, name, command)
    manual = live.get(f"/jobs/{job_id}")
    body = {key: manual[key] for key in ("name", "billing", "backoffLimit", "deployment")}
    cron = live.http.put(
        f"/v1/projects/{live.project}/jobs/cron",
        json=body | EVERY_MINUTE | {"concurrencyPolicy": policy},
    )
    assert cron.status_code == 200, cron.text
    return job_id


def suspend(live: LiveDockyard, job_id: str) -> None:
    patched = live.http.patch(
        f"/v1/projects/{live.project}/jobs/cron/{job_id}", json={"suspended": True}
    )
    assert patched.status_code == 200, patched.text


def runs_of(live: LiveDockyard, job_id: str) -> list[dict[str, Any]]:
    """Oldest first."""
    runs: list[dict[str, Any]] = live.get(f"/jobs/{job_id}/runs")["runs"]
    return list(reversed(runs))


def due_times(runs: list[dict[str, Any]]) -> list[datetime]:
    return [datetime.fromisoformat(run["scheduledAt"]) for run in runs]


def sleep_until(moment: datetime) -> None:
    time.sleep(max(0.0, (moment - datetime.now(UTC)).total_seconds()))


def wait_for_runs(
    live: LiveDockyard, job_id: str, done: Any, timeout: float = 60
) -> list[dict[str, Any]]:
    deadline = time.monotonic() + timeout
    while not done(runs := runs_of(live, job_id)):
        assert time.monotonic() < deadline, runs
        time.sleep(0.5)
    return runs


def test_schedules_start_runs_once_per_due_time_with_their_policies(
    two_workers: tuple[LiveDockyard, DockyardProcess],
) -> None:
    live, second = two_workers
    allow = cron_job(live, "every minute", "echo scheduled", "allow")
    forbid = cron_job(live, "forbid overlap", FOREVER, "forbid")
    replace = cron_job(live, "replace overlap", FOREVER, "replace")
    suspended = cron_job(live, "suspended", "echo never", "allow")
    suspend(live, suspended)
    first_due = datetime.now(UTC).replace(second=0, microsecond=0) + timedelta(minutes=1)
    second_due = first_due + timedelta(minutes=1)
    sleep_until(second_due + SETTLE)
    for job_id in (allow, forbid, replace):
        suspend(live, job_id)

    allowed = wait_for_runs(live, allow, lambda runs: all(run["concluded"] for run in runs))
    assert due_times(allowed) == [first_due, second_due]
    assert all(run["trigger"] == "schedule" for run in allowed)
    assert [run["status"] for run in allowed] == ["SUCCESS", "SUCCESS"], allowed

    (forbidden,) = runs_of(live, forbid)
    assert due_times([forbidden]) == [first_due]
    assert forbidden["active"] == 1 and not forbidden["concluded"], forbidden

    replaced, replacing = wait_for_runs(live, replace, lambda runs: runs[0]["concluded"])
    assert due_times([replaced, replacing]) == [first_due, second_due]
    assert replaced["status"] == "FAILED", replaced
    assert not replacing["concluded"], replacing

    # Both workers tried every due time; the database let one run through for each.
    started = [
        line
        for line in (live.process.output() + "\n" + second.output()).splitlines()
        if "cron run started" in line
    ]
    assert len(started) == 5, started

    assert runs_of(live, suspended) == []
    for job_id in (allow, forbid, replace, suspended):
        assert live.http.delete(f"/v1/projects/{live.project}/jobs/{job_id}").status_code == 200
