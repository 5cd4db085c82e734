"""A flood of lines through a LogWriter, on SQLite and PostgreSQL: every line stored once, in
order, redacted, in bulk batches; past the run's cap, one marker line and the rest counted as
dropped; the follower waits for room, not the writer's memory grows."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

from dockyard.config import Settings
from dockyard.db.session import Database
from dockyard.logs.masking import masker
from dockyard.logs.service import MAX_PENDING_LINES, LogCap, LogWriter, lines_of
from dockyard.metrics.instruments import LOG_LINES_DROPPED
from dockyard.migrations import prepare_storage

T0 = datetime(2026, 12, 7, 6, 0, tzinfo=UTC)
US = timedelta(microseconds=1)
SECRET = "flood-s3cr3t-0a1b"


def dropped_so_far() -> float:
    return LOG_LINES_DROPPED.labels("run")._value.get()


def test_a_flood_is_stored_once_in_order_redacted_and_capped(settings: Settings) -> None:
    prepare_storage(settings)
    lines = MAX_PENDING_LINES + 5000
    cap = LogCap(lines=lines - 1000, bytes=10**9)
    before = dropped_so_far()

    async def scenario() -> tuple[list[tuple[str, bool, datetime]], int, int]:
        database = Database(settings.resolved_database_url)
        writer = LogWriter(database, "run", "r1", "c1", masker([SECRET]), cap=cap)
        flusher = asyncio.create_task(writer.run_flusher())
        most_pending = 0
        for index in range(lines):
            writer.write(f"line {index} {SECRET}", T0 + index * US)
            if index % 1000 == 999:
                most_pending = max(most_pending, len(writer._pending))
                await writer.room()
        writer.write("dockyard's own line, past the cap")
        flusher.cancel()
        await asyncio.gather(flusher, return_exceptions=True)
        async with database.sessions() as session:
            stored = [
                (row.line, row.from_container, row.ts)
                for row in await lines_of(session, "run", "r1")
            ]
        await database.dispose()
        return stored, writer.dropped, most_pending

    stored, dropped, most_pending = asyncio.run(scenario())

    kept = cap.lines
    container = [(line, at) for line, own, at in stored if own]
    assert container == [(f"line {index} *****", T0 + index * US) for index in range(kept)]
    ours = [line for line, own, _at in stored if not own]
    assert len(ours) == 2 and "log cap" in ours[0] and ours[1].startswith("dockyard's own")
    assert [line for line, _own, _at in stored].index(ours[0]) == kept  # in its place
    assert dropped == lines - kept == dropped_so_far() - before
    assert most_pending < MAX_PENDING_LINES + 1000  # room() was awaited every 1000
