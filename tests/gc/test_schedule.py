"""One scheduled collection at a time in an installation, on SQLite and on PostgreSQL: while
one process holds the gc lock another's pass is skipped, and once it is let go the next one
gets it; with DOCKYARD_GC_INTERVAL_SECONDS at 0 a worker has no collection."""

from __future__ import annotations

import asyncio

from structlog.testing import capture_logs

from dockyard.config import Settings
from dockyard.db.locks import held_alone
from dockyard.db.session import Database
from dockyard.gc.schedule import LOCK, LOCK_KEY, ScheduledCollection, scheduled_collections


def test_a_pass_is_skipped_while_another_process_collects(settings: Settings) -> None:
    settings.ensure_data_dir()
    url = settings.resolved_database_url

    async def check() -> None:
        elsewhere, here = Database(url), Database(url)
        try:
            async with held_alone(elsewhere, LOCK, LOCK_KEY) as held:
                assert held
                with capture_logs() as logs:
                    assert await ScheduledCollection(settings, here).collect_alone() is None
                assert [entry["event"] for entry in logs] == [
                    "gc skipped: another worker is collecting"
                ]
            async with held_alone(here, LOCK, LOCK_KEY) as held_here:
                assert held_here
        finally:
            await elsewhere.dispose()
            await here.dispose()

    asyncio.run(check())
    assert scheduled_collections(settings, Database(url)) == []
