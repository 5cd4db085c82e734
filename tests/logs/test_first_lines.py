"""A LogWriter stores each container's first line at once, not one flush pause after
dockyard's own line before it (a tail sees a run's first line as soon as it is written); the
lines after it wait for the pause, in one batch (issue 24)."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

import pytest

from dockyard.config import Settings
from dockyard.db.session import Database
from dockyard.logs import service
from dockyard.logs.service import LogWriter, lines_of
from dockyard.migrations import prepare_storage

T0 = datetime(2026, 12, 7, 6, 0, tzinfo=UTC)
# Far longer than the test waits for a line: a line stored in time was not paused for.
PAUSE_SECONDS = 120.0
STORED_WITHIN_SECONDS = 10.0


async def stored(writer: LogWriter, count: int) -> None:
    async with asyncio.timeout(STORED_WITHIN_SECONDS):
        while writer.stored < count:
            await asyncio.sleep(0.01)


def test_each_containers_first_line_is_stored_at_once(
    settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    prepare_storage(settings)
    monkeypatch.setattr(service, "FLUSH_EVERY_SECONDS", PAUSE_SECONDS)

    async def scenario() -> tuple[list[tuple[str, str]], int]:
        database = Database(settings.resolved_database_url)
        writer = LogWriter(database, "run", "r1", "attempt-1")
        flusher = asyncio.create_task(writer.run_flusher())
        writer.write("Attempt 1 started")
        await stored(writer, 1)
        writer.write("first", T0)
        await stored(writer, 2)
        writer.write("second", T0 + timedelta(seconds=1))
        await asyncio.sleep(0.5)
        paused = writer.stored
        writer.container_id = "attempt-2"
        writer.write("first of attempt 2", T0 + timedelta(seconds=2))
        await stored(writer, 4)
        flusher.cancel()
        await asyncio.gather(flusher, return_exceptions=True)
        async with database.sessions() as session:
            rows = [(row.container_id, row.line) for row in await lines_of(session, "run", "r1")]
        await database.dispose()
        return rows, paused

    rows, paused = asyncio.run(scenario())

    assert paused == 2  # the second line waits for the pause
    assert rows == [
        ("attempt-1", "Attempt 1 started"),
        ("attempt-1", "first"),
        ("attempt-1", "second"),
        ("attempt-2", "first of attempt 2"),
    ]
