"""The worker: claims queued work from the database and drives it. Later issues register the
build and run handlers; until then the loop only keeps its schedule."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

import structlog

from dockyard.config import Settings
from dockyard.db.session import Database

log = structlog.get_logger(__name__)

Tick = Callable[[Database], Awaitable[None]]


class Worker:
    def __init__(self, settings: Settings, database: Database, ticks: list[Tick]) -> None:
        self.settings = settings
        self.database = database
        self.ticks = ticks

    async def run(self, stop: asyncio.Event) -> None:
        log.info("worker started", handlers=len(self.ticks))
        while not stop.is_set():
            for tick in self.ticks:
                await tick(self.database)
            try:
                await asyncio.wait_for(stop.wait(), self.settings.worker_poll_seconds)
            except TimeoutError:
                continue
        log.info("worker stopped")
