"""One collection at a time in an installation, on SQLite and on PostgreSQL: while one process
holds the gc lock another's scheduled pass is skipped, and one that waits (`dockyard gc` by
hand) gets the lock once it is let go. With DOCKYARD_GC_INTERVAL_SECONDS at 0 a worker has no
collection."""

from __future__ import annotations

import asyncio

from structlog.testing import capture_logs

from dockyard.config import Settings
from dockyard.db.locks import held_alone
from dockyard.db.session import Database
from dockyard.gc.schedule import LOCK, LOCK_KEY, ScheduledCollection, scheduled_collections


async def held_after_waiting(database: Database) -> bool:
    async with held_alone(database, LOCK, LOCK_KEY, wait=True) as held:
        return held


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
                waiting = asyncio.create_task(held_after_waiting(here))
                await asyncio.sleep(0.5)
                assert not waiting.done()
            assert await asyncio.wait_for(waiting, 10)
        finally:
            await elsewhere.dispose()
            await here.dispose()

    asyncio.run(check())
    assert scheduled_collections(settings, Database(url)) == []
