"""The runs side of a worker: claim queued runs up to DOCKYARD_MAX_CONCURRENT_RUNS, drive each
in worker/run_pipeline.py, and take over runs whose worker died."""

from __future__ import annotations

import asyncio

import structlog
from sqlalchemy.ext.asyncio import AsyncSession

from dockyard.config import Settings
from dockyard.db import leases
from dockyard.db.session import Database
from dockyard.engine.base import JobContainers
from dockyard.metrics.instruments import RUN_PHASE_SECONDS
from dockyard.runs import repository
from dockyard.runs.models import JobRun
from dockyard.runs.status import RunStatus, move_run
from dockyard.secrets.crypto import SecretBox
from dockyard.worker.dispatch import Lease, LeasedDispatcher
from dockyard.worker.run_pipeline import RunRunner, Sleep

log = structlog.get_logger(__name__)


class RunDispatcher(LeasedDispatcher[JobRun, RunRunner]):
    kind = "run"
    model = JobRun
    phases = RUN_PHASE_SECONDS

    def __init__(
        self,
        settings: Settings,
        database: Database,
        box: SecretBox,
        containers: JobContainers,
        worker_id: str,
        wake: asyncio.Event,
        sleep: Sleep = asyncio.sleep,
    ) -> None:
        super().__init__(settings, database, worker_id, wake)
        self.box = box
        self.containers = containers
        self.sleep = sleep

    @property
    def limit(self) -> int:
        return self.settings.max_concurrent_runs

    def id_of(self, item: JobRun) -> str:
        return item.id

    def runner_for(self, item: JobRun) -> RunRunner:
        return RunRunner(
            self.settings,
            self.database,
            self.box,
            self.containers,
            item,
            self.worker_id,
            self.sleep,
        )

    async def claim(self, session: AsyncSession, count: int) -> list[JobRun]:
        claimed = []
        for run in await leases.oldest_in(session, JobRun, RunStatus.QUEUED.value, count):
            queued_at = run.updated_at
            if await move_run(session, run, RunStatus.RUNNING, **self.lease()):
                self.count_claim(session, queued_at)
                claimed.append(run)
        return claimed

    async def hand_back(self, session: AsyncSession, runners: list[RunRunner]) -> None:
        """The containers keep running; the next worker reattaches at once."""
        for runner in runners:
            await repository.compare_and_set(
                session,
                runner.run_row,
                {"status": RunStatus.RUNNING.value, "claimed_by": self.worker_id},
                {"claimed_by": None, "heartbeat_at": None},
            )

    def lease_of(self, item: JobRun) -> Lease:
        return item.claimed_by, item.heartbeat_at

    async def held_elsewhere(self, session: AsyncSession) -> list[JobRun]:
        running = [RunStatus.RUNNING.value]
        return await leases.held_elsewhere(session, JobRun, running, self.worker_id)

    async def recover(self, session: AsyncSession, abandoned: list[JobRun]) -> list[JobRun]:
        """Runs whose worker stopped renewing its lease: this worker takes them over."""
        free = self.limit - len(self.running)
        taken = []
        for run in abandoned:
            if free <= 0:
                continue
            expected = {
                "status": RunStatus.RUNNING.value,
                "claimed_by": run.claimed_by,
                "heartbeat_at": run.heartbeat_at,
            }
            if await repository.compare_and_set(session, run, expected, self.lease()):
                run.claimed_by = self.worker_id
                taken.append(run)
                free -= 1
                log.warning("abandoned run taken over", run=run.id)
        return taken
