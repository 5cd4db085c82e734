"""The worker's cron scheduler on a fake clock against a real database (SQLite, and PostgreSQL
where one is set up): runs started for due times and recorded as the schedule's, one per due
time however many schedulers tick, at most one late run after downtime, the starting
deadline, suspension, and the Allow, Forbid and Replace policies. No worker drives the runs
here, so a run the schedule started stays unfinished until the test aborts it."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from fastapi.testclient import TestClient

from dockyard.config import Settings
from dockyard.db.session import Database
from dockyard.secrets.crypto import SecretBox
from dockyard.worker.schedules import CronScheduler
from tests.helpers import minimal_job

MINUTE = timedelta(minutes=1)
EXTERNAL = {"external": {"imagePath": "local/busybox:1"}}


def cron_job(name: str, schedule: str = "* * * * *", **fields: Any) -> dict[str, Any]:
    return minimal_job(name, **({"deployment": EXTERNAL, "schedule": schedule} | fields))


def next_minute() -> datetime:
    """The first whole minute after now: the first due time of a job created now."""
    return datetime.now(UTC).replace(second=0, microsecond=0) + MINUTE


@dataclass
class FakeClock:
    now: datetime = field(default_factory=next_minute)

    def __call__(self) -> datetime:
        return self.now


@dataclass
class Schedulers:
    """`count` cron schedulers (as in that many workers) on the app's database, ticking at the
    times a test names."""

    settings: Settings
    count: int = 1
    clock: FakeClock = field(default_factory=FakeClock)

    def tick_at(self, *times: datetime) -> None:
        asyncio.run(self._ticks(times))

    async def _ticks(self, times: tuple[datetime, ...]) -> None:
        databases = [Database(self.settings.resolved_database_url) for _ in range(self.count)]
        box = SecretBox.from_settings(self.settings)
        schedulers = [
            CronScheduler(self.settings, database, box, asyncio.Event(), self.clock)
            for database in databases
        ]
        try:
            for time in times:
                self.clock.now = time
                await asyncio.gather(*(scheduler.tick() for scheduler in schedulers))
        finally:
            for database in databases:
                await database.dispose()


class Jobs:
    def __init__(self, client: TestClient, project: str) -> None:
        self.client = client
        self.base = f"/v1/projects/{project}/jobs"

    def create(self, body: dict[str, Any]) -> str:
        created = self.client.post(f"{self.base}/cron", json=body)
        assert created.status_code == 200, created.text
        job_id: str = created.json()["data"]["id"]
        return job_id

    def patch(self, job_id: str, body: dict[str, Any]) -> None:
        patched = self.client.patch(f"{self.base}/cron/{job_id}", json=body)
        assert patched.status_code == 200, patched.text

    def runs(self, job_id: str) -> list[dict[str, Any]]:
        """Oldest first."""
        listed = self.client.get(f"{self.base}/{job_id}/runs")
        assert listed.status_code == 200, listed.text
        return list(reversed(listed.json()["data"]["runs"]))

    def due_times(self, job_id: str) -> list[datetime]:
        """The due times of the job's runs its schedule started, oldest first."""
        runs = self.runs(job_id)
        return [datetime.fromisoformat(run["scheduledAt"]) for run in runs if "scheduledAt" in run]

    def abort(self, job_id: str, run_id: str) -> None:
        aborted = self.client.delete(f"{self.base}/{job_id}/runs/{run_id}")
        assert aborted.status_code == 200, aborted.text


def test_each_due_time_starts_one_run_recorded_as_the_schedules(
    client: TestClient, project: str, settings: Settings
) -> None:
    jobs = Jobs(client, project)
    job = jobs.create(cron_job("Every Minute"))
    schedulers = Schedulers(settings)
    first = schedulers.clock.now
    schedulers.tick_at(first - timedelta(seconds=1))
    assert jobs.runs(job) == []  # nothing due before the first whole minute

    schedulers.tick_at(first, first + timedelta(seconds=1), first + timedelta(seconds=59))
    schedulers.tick_at(first + MINUTE + timedelta(seconds=2))
    runs = jobs.runs(job)
    assert [run["trigger"] for run in runs] == ["schedule", "schedule"]
    assert jobs.due_times(job) == [first, first + MINUTE]
    assert all(run["status"] == "RUNNING" and run["active"] == 0 for run in runs)  # queued


def test_many_schedulers_start_one_run_per_due_time(
    client: TestClient, project: str, settings: Settings
) -> None:
    jobs = Jobs(client, project)
    job = jobs.create(cron_job("Contended"))
    schedulers = Schedulers(settings, count=4)
    first = schedulers.clock.now
    schedulers.tick_at(*(first + index * MINUTE for index in range(3)))
    assert jobs.due_times(job) == [first, first + MINUTE, first + 2 * MINUTE]


def test_downtime_gives_one_late_run_for_the_latest_missed_time(
    client: TestClient, project: str, settings: Settings
) -> None:
    jobs = Jobs(client, project)
    job = jobs.create(cron_job("After Downtime", "*/5 * * * *"))
    schedulers = Schedulers(settings)
    start = schedulers.clock.now
    latest = start + timedelta(hours=2)
    latest -= timedelta(minutes=latest.minute % 5)
    schedulers.tick_at(latest + timedelta(minutes=3), latest + timedelta(minutes=4))
    assert jobs.due_times(job) == [latest]


def test_a_run_past_the_starting_deadline_is_skipped(
    client: TestClient, project: str, settings: Settings
) -> None:
    jobs = Jobs(client, project)
    job = jobs.create(cron_job("Deadline"))
    schedulers = Schedulers(settings.model_copy(update={"cron_starting_deadline_seconds": 30}))
    first = schedulers.clock.now
    schedulers.tick_at(first + timedelta(seconds=45))
    assert jobs.runs(job) == []
    schedulers.tick_at(first + MINUTE + timedelta(seconds=30))
    assert jobs.due_times(job) == [first + MINUTE]


def test_a_suspended_job_starts_nothing_and_catches_up_once_resumed(
    client: TestClient, project: str, settings: Settings
) -> None:
    jobs = Jobs(client, project)
    job = jobs.create(cron_job("Suspended", suspended=True))
    schedulers = Schedulers(settings)
    first = schedulers.clock.now
    schedulers.tick_at(first, first + MINUTE, first + 2 * MINUTE)
    assert jobs.runs(job) == []

    jobs.patch(job, {"suspended": False})
    schedulers.tick_at(first + 2 * MINUTE + timedelta(seconds=10))
    assert jobs.due_times(job) == [first + 2 * MINUTE]


def test_a_new_schedule_counts_from_when_it_was_set(
    client: TestClient, project: str, settings: Settings
) -> None:
    jobs = Jobs(client, project)
    job = jobs.create(cron_job("Rescheduled", "0 0 1 1 *"))
    schedulers = Schedulers(settings)
    first = schedulers.clock.now
    jobs.patch(job, {"schedule": "* * * * *"})
    schedulers.tick_at(first)
    assert jobs.due_times(job) == [first]


def test_allow_starts_runs_beside_unfinished_ones(
    client: TestClient, project: str, settings: Settings
) -> None:
    jobs = Jobs(client, project)
    job = jobs.create(cron_job("Allow", concurrencyPolicy="allow"))
    schedulers = Schedulers(settings)
    first = schedulers.clock.now
    schedulers.tick_at(first, first + MINUTE)
    assert [run["concluded"] for run in jobs.runs(job)] == [False, False]


def test_forbid_starts_nothing_while_a_run_is_unfinished(
    client: TestClient, project: str, settings: Settings
) -> None:
    jobs = Jobs(client, project)
    job = jobs.create(cron_job("Forbid", concurrencyPolicy="forbid"))
    started = client.post(f"/v1/projects/{project}/jobs/{job}/runs", json={}).json()["data"]
    schedulers = Schedulers(settings)
    first = schedulers.clock.now
    schedulers.tick_at(first, first + MINUTE)
    assert [run["id"] for run in jobs.runs(job)] == [started["id"]]

    # Once it ends, the latest unmet due time still runs (there is no starting deadline).
    jobs.abort(job, started["id"])
    schedulers.tick_at(first + MINUTE + timedelta(seconds=20))
    assert jobs.due_times(job)[-1] == first + MINUTE
    assert len(jobs.runs(job)) == 2


def test_replace_aborts_the_unfinished_run_for_the_new_one(
    client: TestClient, project: str, settings: Settings
) -> None:
    jobs = Jobs(client, project)
    job = jobs.create(cron_job("Replace", concurrencyPolicy="replace"))
    schedulers = Schedulers(settings)
    first = schedulers.clock.now
    schedulers.tick_at(first, first + MINUTE)
    replaced, current = jobs.runs(job)
    assert replaced["concluded"] and replaced["status"] == "FAILED", replaced
    assert not current["concluded"] and current["trigger"] == "schedule"


def test_a_job_with_nothing_to_run_yet_waits_for_an_image(
    client: TestClient, project: str, settings: Settings
) -> None:
    """A job deploying from git has no image before its first build: its due time stays
    unmet (so a build within the deadline still gives the run), and nothing fails."""
    jobs = Jobs(client, project)
    vcs = {
        "vcs": {
            "projectUrl": "https://github.com/northflank/gatsby-with-northflank",
            "projectType": "github",
            "projectBranch": "main",
        }
    }
    job = jobs.create(cron_job("No Image", deployment=vcs))
    schedulers = Schedulers(settings)
    first = schedulers.clock.now
    schedulers.tick_at(first, first + timedelta(seconds=1))
    assert jobs.runs(job) == []
