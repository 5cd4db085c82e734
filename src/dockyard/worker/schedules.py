"""The cron side of a worker: on every tick, start the run each cron job is due, as the
Kubernetes CronJob controller does.

For each cron job not `suspended`: its most recent due time after the last one it started a
run for (or after its schedule was set) and not in the future is unmet (earlier missed ones
are never run, so downtime gives at most one late run). Past
DOCKYARD_CRON_STARTING_DEADLINE_SECONDS it is skipped. Otherwise its `concurrencyPolicy`
decides: `allow` starts a run; `forbid` starts none while a run of the job is unfinished (the
due time stays unmet, so it may still start once that run ends, within the deadline);
`replace` starts one and aborts the unfinished others.

Any number of workers run this at once: a run names the due time it is for, unique per job in
the database, so exactly one of them starts it and the others find it taken.

The wall clock decides (a schedule is wall time), and it may step. Runs for due times after
`now` (started while the clock was ahead, by this worker or by another whose clock is) do not
count as handled: once the clock is set back the schedule goes on from the due times it
really met, instead of pausing until the clock catches up, and a due time met twice finds its
run taken.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import datetime
from typing import Any

import structlog
from sqlalchemy.ext.asyncio import AsyncSession

from dockyard.config import Settings
from dockyard.db.base import utcnow
from dockyard.db.session import Database
from dockyard.errors import Conflict
from dockyard.jobs import cron
from dockyard.jobs import service as jobs
from dockyard.jobs.models import Job
from dockyard.runs import service as runs
from dockyard.runs.models import RunTrigger
from dockyard.secrets.crypto import SecretBox

log = structlog.get_logger(__name__)


def counted_since(schedule_since: datetime | None, last_scheduled: datetime | None) -> datetime:
    """After when a cron job's due times are unmet: the later of when its schedule was set
    (every cron job has that) and the last due time it started a run for."""
    return max(time for time in (schedule_since, last_scheduled) if time is not None)


class CronScheduler:
    def __init__(
        self,
        settings: Settings,
        database: Database,
        box: SecretBox,
        wake: asyncio.Event,
        clock: Callable[[], datetime] = utcnow,
    ) -> None:
        self.settings = settings
        self.database = database
        self.box = box
        self.wake = wake
        self.clock = clock
        # The latest due time each job (by uid) has its run for: until the next one, the
        # database need not be asked.
        self.served: dict[str, datetime] = {}
        # The due time each job was last logged about, so each is logged once.
        self.reported: dict[str, datetime] = {}

    async def tick(self) -> None:
        async with self.database.sessions() as session:
            due_jobs = [
                job for job in await jobs.cron_jobs(session) if not jobs.cron_spec_of(job).suspended
            ]
        for job in due_jobs:
            await self._serve(job, self.clock())

    async def shutdown(self) -> None:
        """Nothing to hand back: a due time a stopped worker did not start is still unmet."""

    async def _serve(self, job: Job, now: datetime) -> None:
        served = self.served.get(job.uid)
        if (
            served is not None
            and served <= now
            and cron.unmet_due_time(jobs.cron_spec_of(job).schedule, served, now) is None
        ):
            return
        # A session per job: a rollback (the due time taken by another worker) expires what
        # the session loaded.
        async with self.database.sessions() as session:
            last = await runs.last_scheduled_at(session, job.project_id, job.id, now)
            since = counted_since(job.schedule_since, last)
            due = cron.unmet_due_time(jobs.cron_spec_of(job).schedule, since, now)
            if due is None:
                return
            if cron.past_starting_deadline(due, now, self.settings.cron_starting_deadline_seconds):
                self._report_once(job, due, "cron run missed its starting deadline")
                return
            policy = jobs.cron_spec_of(job).concurrency_policy
            if policy == "forbid" and await runs.unconcluded_runs_of(
                session, job.project_id, job.id
            ):
                return
            await self._start(session, job, due, replacing=policy == "replace")

    async def _start(
        self, session: AsyncSession, job: Job, due: datetime, *, replacing: bool
    ) -> None:
        spec = jobs.opened_spec(self.box, job)
        try:
            recipe, run_secrets = await runs.prepare_run(session, job, spec)
            run = await runs.start_run(
                session,
                self.box,
                job,
                recipe,
                run_secrets,
                trigger=RunTrigger.SCHEDULE,
                scheduled_at=due,
            )
        except runs.AlreadyScheduled:
            self.served[job.uid] = due
            return
        except Conflict as exc:  # nothing to run yet: the due time stays unmet
            self._report_once(job, due, "cron run cannot start", reason=exc.message)
            return
        self.served[job.uid] = due
        log.info("cron run started", job=job.id, project=job.project_id, due=due, run=run.id)
        if replacing:
            await runs.abort_all_but(session, run)
        self.wake.set()

    def _report_once(self, job: Job, due: datetime, event: str, **details: Any) -> None:
        if self.reported.get(job.uid) != due:
            self.reported[job.uid] = due
            log.warning(event, job=job.id, project=job.project_id, due=due, **details)
