"""Log retention: lines older than DOCKYARD_LOG_RETENTION_DAYS go, and of each build and run
only the newest DOCKYARD_LOG_RETENTION_LINES stay. A worker runs it every few minutes."""

from __future__ import annotations

from datetime import timedelta

import structlog

from dockyard.config import Settings
from dockyard.db.base import utcnow
from dockyard.db.session import Database
from dockyard.logs import repository
from dockyard.pacing import AtMostEvery

log = structlog.get_logger(__name__)

EVERY_SECONDS = 300.0


class LogJanitor:
    """A worker handler: between ticks, at most one clean-up every EVERY_SECONDS."""

    def __init__(self, settings: Settings, database: Database) -> None:
        self.settings = settings
        self.database = database
        self.pace = AtMostEvery(EVERY_SECONDS)

    async def tick(self) -> None:
        if self.pace.due():
            await self.clean()

    async def clean(self) -> tuple[int, int]:
        """(lines removed for age, lines removed for count)."""
        before = utcnow() - timedelta(days=self.settings.log_retention_days)
        async with self.database.sessions() as session:
            aged = await repository.delete_older_than(session, before)
            crowded = await repository.delete_beyond(session, self.settings.log_retention_lines)
            await session.commit()
        if aged or crowded:
            log.info("old log lines removed", for_age=aged, for_count=crowded)
        return aged, crowded

    async def shutdown(self) -> None:
        """Nothing is held between clean-ups."""
