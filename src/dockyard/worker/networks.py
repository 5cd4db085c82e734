"""The worker's look for networks of deleted projects, every EVERY_SECONDS
(projects/networks.py)."""

from __future__ import annotations

from dockyard.config import Settings
from dockyard.db.session import Database
from dockyard.engine.containers import DockerEngine
from dockyard.pacing import AtMostEvery
from dockyard.projects.networks import remove_orphan_networks

EVERY_SECONDS = 5.0


class NetworkJanitor:
    """A worker handler: between ticks, at most one look every EVERY_SECONDS."""

    def __init__(self, settings: Settings, engine: DockerEngine, database: Database) -> None:
        self.settings = settings
        self.engine = engine
        self.database = database
        self.pace = AtMostEvery(EVERY_SECONDS)

    async def tick(self) -> None:
        if self.pace.due():
            await remove_orphan_networks(self.settings, self.engine, self.database)

    async def shutdown(self) -> None:
        """Nothing is held between looks."""
