"""One collection at a time in an installation, on SQLite and on PostgreSQL: while one process
holds the gc lock another's scheduled pass is skipped and `dockyard gc` refused; once it is let
go the next one gets it. With DOCKYARD_GC_INTERVAL_SECONDS at 0 a worker has no collection."""

from __future__ import annotations

import asyncio

from structlog.testing import capture_logs
from typer.testing import CliRunner, Result

from dockyard.cli.main import app
from dockyard.config import Settings
from dockyard.db.locks import held_alone
from dockyard.db.session import Database
from dockyard.gc.schedule import LOCK, LOCK_KEY, ScheduledCollection, scheduled_collections
from dockyard.migrations import prepare_storage


def gc_command(settings: Settings) -> Result:
    env = {
        "DOCKYARD_DATA_DIR": str(settings.data_dir),
        "DOCKYARD_DATABASE_URL": settings.database_url,
        "DOCKYARD_REGISTRY": settings.registry,
        "DOCKYARD_REGISTRY_AUTOSTART": "false",
    }
    return CliRunner().invoke(app, ["gc"], env=env)


def test_a_pass_is_skipped_while_another_process_collects(settings: Settings) -> None:
    prepare_storage(settings)
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
                by_hand = await asyncio.to_thread(gc_command, settings)
                assert by_hand.exit_code == 1 and "another process is collecting" in by_hand.stderr
            async with held_alone(here, LOCK, LOCK_KEY) as held_here:
                assert held_here
        finally:
            await elsewhere.dispose()
            await here.dispose()

    asyncio.run(check())
    assert scheduled_collections(settings, Database(url)) == []
