"""What builds and runs have in common on a worker: claim queued work up to a limit, drive
each item in a task, renew the items' leases, pass abort requests on, take over items whose
worker died, let go of items taken over while this worker was cut off from the database, and
hand the work back on shutdown.

Claims and takeovers are compare-and-set on the item's row, so any number of workers can share
one database and an item is driven by one of them at a time.
"""

from __future__ import annotations

import asyncio
from abc import ABC, abstractmethod
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Generic, Protocol, TypeVar

import structlog
from sqlalchemy.ext.asyncio import AsyncSession

from dockyard.config import Settings
from dockyard.db import leases
from dockyard.db.base import utcnow
from dockyard.db.session import Database

log = structlog.get_logger(__name__)


class Runner(Protocol):
    aborting: bool

    async def run(self) -> None: ...

    def let_go(self) -> None:
        """The item was taken over by another worker: write nothing more of it."""


Item = TypeVar("Item")
R = TypeVar("R", bound=Runner)


@dataclass
class Running(Generic[R]):
    runner: R
    task: asyncio.Task[None]


class LeasedDispatcher(ABC, Generic[Item, R]):
    kind = "item"
    model: Any  # the table of the items (Build, JobRun)

    def __init__(
        self, settings: Settings, database: Database, worker_id: str, wake: asyncio.Event
    ) -> None:
        self.settings = settings
        self.database = database
        self.worker_id = worker_id
        self.wake = wake
        self.running: dict[str, Running[R]] = {}

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
    async def recover(self, session: AsyncSession, expired: datetime) -> list[Item]:
        """Deal with the items whose worker's lease expired before `expired`; those this
        worker should now drive."""

    @abstractmethod
    async def hand_back(self, session: AsyncSession, runners: list[R]) -> None:
        """On shutdown: make the items of these (stopped) runners someone else's to finish."""

    # ---- the shared machinery ---------------------------------------------------------------

    async def tick(self) -> None:
        self._forget_finished()
        await self._claim()
        await self._renew_leases_and_abort()
        await self._recover_abandoned()

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
        for item_id in stopping:
            running = self.running[item_id]
            if not running.runner.aborting:
                running.runner.aborting = True
                running.task.cancel()
        for item_id in set(ids) - held - stopping:
            self._let_go(item_id)

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
        expired = utcnow() - timedelta(seconds=self.settings.worker_lease_seconds)
        async with self.database.sessions() as session:
            taken = await self.recover(session, expired)
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

    def lease(self) -> dict[str, Any]:
        """Column values that make an item this worker's, as of now."""
        return {"claimed_by": self.worker_id, "heartbeat_at": utcnow()}
