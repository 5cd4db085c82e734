"""Where a container's stored lines end, so a worker taking a run over resumes its log there:
by the engine's times of the container's own lines (dockyard's lines, timed when written, do
not count), lines of the same µs included."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

from dockyard.config import Settings
from dockyard.db.session import Database
from dockyard.logs.service import LogCursor, LogWriter, container_log_cursor
from dockyard.migrations import prepare_storage

T0 = datetime(2026, 12, 3, 6, 0, tzinfo=UTC)
US = timedelta(microseconds=1)


def test_a_read_again_from_the_cursor_skips_the_lines_it_has_and_keeps_the_rest() -> None:
    cursor = LogCursor(T0 + US, repeats=2)
    is_new = cursor.reader()
    # The engine reads from a µs before: older lines, the two stored ones of T0+1µs, then new.
    times = [T0, T0 + US, T0 + US, T0 + US, T0 + 2 * US]
    assert [is_new(at) for at in times] == [False, False, False, True, True]
    assert (cursor.at, cursor.repeats) == (T0 + 2 * US, 1)
    assert cursor.resume_from == T0 + US


def test_a_cursor_with_nothing_stored_takes_every_line() -> None:
    cursor = LogCursor()
    is_new = cursor.reader()
    assert cursor.resume_from is None
    assert [is_new(at) for at in (T0, T0, T0 + US)] == [True, True, True]
    assert (cursor.at, cursor.repeats) == (T0 + US, 1)


def test_the_stored_cursor_counts_only_the_containers_own_lines(settings: Settings) -> None:
    prepare_storage(settings)

    async def scenario() -> tuple[LogCursor, LogCursor]:
        database = Database(settings.resolved_database_url)
        writer = LogWriter(database, "run", "r1", "attempt-1")
        writer.write("tick 1", T0)
        writer.write("tick 2", T0 + US)
        writer.write("tick 3", T0 + US)
        # Written by dockyard later than the container's lines: not a place in its log.
        writer.write("Reattached to attempt 1")
        await writer.flush()
        stored = await container_log_cursor(database, "run", "r1", "attempt-1")
        nothing = await container_log_cursor(database, "run", "r1", "attempt-2")
        await database.dispose()
        return stored, nothing

    stored, nothing = asyncio.run(scenario())
    assert (stored.at, stored.repeats) == (T0 + US, 2)
    assert (nothing.at, nothing.repeats) == (None, 0)
