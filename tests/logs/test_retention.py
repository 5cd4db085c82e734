"""Log retention on a real database: by age, and by lines per build or run."""

from __future__ import annotations

import asyncio
from datetime import timedelta

from dockyard.config import Settings
from dockyard.db.base import utcnow
from dockyard.db.session import Database
from dockyard.logs import repository
from dockyard.logs.repository import NewLine
from dockyard.logs.retention import LogJanitor
from dockyard.migrations import prepare_storage


def test_old_and_surplus_lines_go(settings: Settings) -> None:
    prepare_storage(settings)
    settings = settings.model_copy(update={"log_retention_days": 7, "log_retention_lines": 100})

    async def scenario() -> tuple[tuple[int, int], dict[str, list[str]]]:
        database = Database(settings.resolved_database_url)
        now = utcnow()
        rows = [
            NewLine("run", "old-run", "c", False, now - timedelta(days=8), "old"),
            NewLine("run", "old-run", "c", False, now, "recent"),
        ] + [NewLine("build", "chatty", "b", False, now, f"line {i}") for i in range(150)]
        async with database.sessions() as session:
            await repository.append_many(session, rows)
            await session.commit()
        removed = await LogJanitor(settings, database).clean()
        async with database.sessions() as session:
            kept = {
                owner: [line.line for line in await repository.lines_of(session, kind, owner)]
                for kind, owner in (("run", "old-run"), ("build", "chatty"))
            }
        await database.dispose()
        return removed, kept

    removed, kept = asyncio.run(scenario())

    assert removed == (1, 50)
    assert kept["old-run"] == ["recent"]
    assert kept["chatty"] == [f"line {i}" for i in range(50, 150)]
