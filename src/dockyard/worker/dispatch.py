"""What builds and runs have in common on a worker: claim queued work up to a limit, drive
each item in a task, renew the items' leases, pass abort requests on, take over items whose
worker died, let go of items taken over while this worker was cut off from the database, and
hand the work back on shutdown.

Claims and takeovers are compare-and-set on the item's row, so any number of workers can share
one database and an item is driven by one of them at a time.
"""

from __future__ import annotations

import asyncio
import time
from abc import ABC, abstractmethod
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Generic, Protocol, TypeVar

import structlog
from prometheus_client import Histogram
from sqlalchemy.ext.asyncio import AsyncSession

from dockyard.config import Settings
from dockyard.db import leases
from dockyard.db.base import utcnow
from dockyard.db.session import Database, after_commit
from dockyard.metrics.instruments import WORKER_CLAIMS
from dockyard.pacing import AtMostEvery

log = structlog.get_logger(__name__)


class Runner(Protocol):
    aborting: bool

    async def run(self) -> None: ...

    def let_go(self) -> None:
        """The item was taken over by another worker: write nothing more of it."""


# Who holds a work item, and when its holder last renewed that (by the holder's clock).
Lease = tuple[str | None, datetime | None]

Item = TypeVar("Item")
R = TypeVar("R", bound=Runner)


class LeaseWatch:
    """Which other workers' leases have lapsed, judged on this worker's monotonic clock: a
    lease lapses once its heartbeat has stayed the same for the lease time since this worker
    first saw that value (as Kubernetes' leader election judges a lease by when the candidate
    saw it renewed, not by the time written in it). A heartbeat is written with its worker's
    wall clock, which may be stepped or differ from this one's: compared with this worker's
    wall clock, a clock ahead would take over live work and a clock behind would never expire
    a dead worker's lease. An item no worker holds (handed back) is free at once."""

    def __init__(self, lease_seconds: float, clock: Callable[[], float] = time.monotonic):
        self.lease_seconds = lease_seconds
        self.clock = clock
        # item id -> (its lease as last seen, when this worker first saw it so)
        self.seen: dict[str, tuple[Lease, float]] = {}

    def lapsed(self, leases: dict[str, Lease]) -> set[str]:
        """Of `leases` (item id -> lease, of all the items held elsewhere: the others are
        forgotten), the items whose lease lapsed."""
        now = self.clock()
        seen = {}
        for item_id, lease in leases.items():
            before = self.seen.get(item_id)
            seen[item_id] = (lease, before[1] if before and before[0] == lease else now)
        self.seen = seen
        return {
            item_id
            for item_id, (lease, since) in seen.items()
            if lease[0] is None or now - since >= self.lease_seconds
        }


@dataclass
class Running(Generic[R]):
    runner: R
    task: asyncio.Task[None]


class LeasedDispatcher(ABC, Generic[Item, R]):
    kind = "item"
    model: Any  # the table of the items (Build, JobRun)
    phases: Histogram  # the metric of the items' phase durations (queue_wait among them)

    def __init__(
        self, settings: Settings, database: Database, worker_id: str, wake: asyncio.Event
    ) -> None:
        self.settings = settings
        self.database = database
        self.worker_id = worker_id
        self.wake = wake
        self.running: dict[str, Running[R]] = {}
        self.leases = LeaseWatch(settings.worker_lease_seconds)
        # Renewing leases and looking for abandoned work keep to the poll interval: the
        # worker also ticks at every wake (each POST of work, each item ending), which only
        # claiming needs, and in a burst those extra rounds cost the database a write and
        # two reads each.
        self.lease_pace = AtMostEvery(settings.worker_poll_seconds)

    # ---- what each kind of work says --------------------------------------------------------

    @property
    @abstractmethod
    def limit(self) -> int:
        """How many items may run at once."""

    @abstractmethod
    async def claim(self, session: AsyncSession, count: int) -> list[Item]:
        """Up to `count` queued items, each moved to this worker (compare-and-set)."""

    @abstractmethod
    def runner_for(self, item: Item) -> R: ...

    @abstractmethod
    def id_of(self, item: Item) -> str: ...

    @abstractmethod
    def lease_of(self, item: Item) -> Lease: ...

    @abstractmethod
    async def held_elsewhere(self, session: AsyncSession) -> list[Item]:
        """The items in flight that another worker holds, or none does."""

    @abstractmethod
    async def recover(self, session: AsyncSession, abandoned: list[Item]) -> list[Item]:
        """Deal with the `abandoned` items (their lease lapsed); those this worker should now
        drive."""

    @abstractmethod
    async def hand_back(self, session: AsyncSession, runners: list[R]) -> None:
        """On shutdown: make the items of these (stopped) runners someone else's to finish."""

    # ---- the shared machinery ---------------------------------------------------------------

    async def tick(self) -> None:
        self._forget_finished()
        await self._claim()
        if self.lease_pace.due():
            await self._renew_leases_and_abort()
            await self._recover_abandoned()
        else:
            await self._abort_requested()

    async def shutdown(self) -> None:
        for running in self.running.values():
            running.task.cancel()
        await asyncio.gather(*(r.task for r in self.running.values()), return_exceptions=True)
        async with self.database.sessions() as session:
            await self.hand_back(session, [r.runner for r in self.running.values()])
            await session.commit()
        self.running.clear()

    def _forget_finished(self) -> None:
        for item_id in [i for i, r in self.running.items() if r.task.done()]:
            del self.running[item_id]

    async def _renew_leases_and_abort(self) -> None:
        if not self.running:
            return
        ids = list(self.running)
        async with self.database.sessions() as session:
            held = await leases.renew(session, self.model, ids, self.worker_id, utcnow())
            stopping = await leases.to_stop_among(session, self.model, ids)
            await session.commit()
        self._stop(stopping)
        for item_id in set(ids) - held - stopping:
            self._let_go(item_id)

    async def _abort_requested(self) -> None:
        """Between lease renewals: the items whose abort was asked for (an abort wakes the
        worker) are stopped at once."""
        if not self.running:
            return
        async with self.database.sessions() as session:
            stopping = await leases.to_stop_among(session, self.model, list(self.running))
        self._stop(stopping)

    def _stop(self, stopping: set[str]) -> None:
        for item_id in stopping:
            running = self.running[item_id]
            if not running.runner.aborting:
                running.runner.aborting = True
                running.task.cancel()

    def _let_go(self, item_id: str) -> None:
        """This worker was cut off longer than its lease and another took the item over:
        stop driving it, leaving what it runs (a job's container) to the new holder."""
        running = self.running.pop(item_id)
        running.runner.let_go()
        running.task.cancel()
        log.warning(f"{self.kind} taken over elsewhere; letting go", id=item_id)

    async def _claim(self) -> None:
        free = self.limit - len(self.running)
        if free <= 0:
            return
        async with self.database.sessions() as session:
            claimed = await self.claim(session, free)
            await session.commit()
        for item in claimed:
            self._start(item)

    async def _recover_abandoned(self) -> None:
        async with self.database.sessions() as session:
            held = {
                self.id_of(item): item
                for item in await self.held_elsewhere(session)
                if self.id_of(item) not in self.running
            }
            lapsed = self.leases.lapsed({i: self.lease_of(item) for i, item in held.items()})
            taken = await self.recover(session, [held[i] for i in lapsed])
            await session.commit()
        for item in taken:
            self._start(item)

    def _start(self, item: Item) -> None:
        item_id = self.id_of(item)
        runner = self.runner_for(item)
        task = asyncio.create_task(runner.run(), name=f"{self.kind} {item_id}")
        task.add_done_callback(lambda _: self.wake.set())
        self.running[item_id] = Running(runner, task)
        log.info(f"{self.kind} started", id=item_id)

    def count_claim(self, session: AsyncSession, queued_at: datetime) -> None:
        """An item queued at `queued_at` claimed: counted once the claim commits."""
        waited = max((utcnow() - queued_at).total_seconds(), 0.0)

        def count() -> None:
            WORKER_CLAIMS.labels(self.kind).inc()
            self.phases.labels("queue_wait").observe(waited)

        after_commit(session, count)

    def lease(self) -> dict[str, Any]:
        """Column values that make an item this worker's, as of now."""
        return {"claimed_by": self.worker_id, "heartbeat_at": utcnow()}
