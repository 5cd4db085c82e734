"""Work notifications on PostgreSQL: what the API signals wakes a listening worker in
another process at once, and a listener whose connection dies reconnects and hears again."""

from __future__ import annotations

import asyncio

import pytest
from sqlalchemy import text

from dockyard.db.notify import CHANNEL, WorkSignal, listen
from dockyard.db.session import Database

pytestmark = pytest.mark.postgres

HEARD_WITHIN = 10.0


async def heard(wake: asyncio.Event) -> None:
    await asyncio.wait_for(wake.wait(), HEARD_WITHIN)
    wake.clear()


async def end_listening_sessions(database: Database) -> int:
    async with database.engine.connect() as connection:
        ended = await connection.execute(
            text(
                "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
                "WHERE datname = current_database() AND query = :listen"
            ),
            {"listen": f"LISTEN {CHANNEL}"},
        )
        return int(ended.scalar_one())


async def signal_and_listen(url: str) -> None:
    database = Database(url)
    signal = WorkSignal(database, asyncio.Event())
    wake = asyncio.Event()
    listener = asyncio.create_task(listen(url, wake))
    try:
        await heard(wake)  # set once listening: whatever was notified before counts

        signal.set()
        await heard(wake)
        assert signal.local.is_set()

        assert await end_listening_sessions(database) == 1
        await heard(wake)  # listening again
        signal.set()
        await heard(wake)
    finally:
        listener.cancel()
        await signal.close()
        await database.dispose()


def test_a_signal_wakes_a_listener_across_reconnects(empty_postgres_database: str) -> None:
    asyncio.run(signal_and_listen(empty_postgres_database))
