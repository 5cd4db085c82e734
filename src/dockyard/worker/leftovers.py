"""The worker's sweep of containers left by concluded or deleted job runs: once when it
starts, then every DOCKYARD_CONTAINER_SWEEP_SECONDS (runs/leftovers.py)."""

from __future__ import annotations

from dockyard.config import Settings
from dockyard.db.session import Database
from dockyard.engine.base import JobContainers
from dockyard.pacing import AtMostEvery
from dockyard.runs.leftovers import LeftoverSweep, database_label


class LeftoverJanitor:
    """A worker handler: between ticks, at most one sweep every interval."""

    def __init__(self, settings: Settings, containers: JobContainers, database: Database) -> None:
        label = database_label(settings.resolved_database_url)
        self.sweeper = LeftoverSweep(containers, database, label)
        self.pace = AtMostEvery(settings.container_sweep_seconds)

    async def tick(self) -> None:
        if self.pace.due():
            await self.sweeper.sweep()

    async def shutdown(self) -> None:
        """Nothing is held between sweeps."""
