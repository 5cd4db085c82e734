"""Work one process of an installation does at a time (garbage collection): a lock its
holder's death releases. On PostgreSQL a session advisory lock, which every host of the
installation sees; on SQLite, whose processes share one machine, a file lock beside the
database file (the migrations serialise themselves alike)."""

from __future__ import annotations

import asyncio
import contextlib
import fcntl
from collections.abc import AsyncIterator
from pathlib import Path

from sqlalchemy import make_url, text

from dockyard.db.session import Database, is_sqlite


@contextlib.asynccontextmanager
async def held_alone(
    database: Database, name: str, key: int, *, wait: bool = False
) -> AsyncIterator[bool]:
    """Whether this process holds the lock `name` (`key` on PostgreSQL) for the block: False
    when another one does, or with `wait`, once that one lets go."""
    if is_sqlite(database.url):
        path = Path(make_url(database.url).database or "dockyard.db")
        with path.with_name(f"{path.name}.{name}.lock").open("a") as lock:
            try:
                fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
                held = True
            except BlockingIOError:
                held = wait
                if wait:
                    await asyncio.to_thread(fcntl.flock, lock, fcntl.LOCK_EX)
            yield held
        return
    async with database.engine.connect() as connection:
        session = await connection.execution_options(isolation_level="AUTOCOMMIT")
        held = bool(await session.scalar(text("SELECT pg_try_advisory_lock(:key)"), {"key": key}))
        if not held and wait:
            await session.execute(text("SELECT pg_advisory_lock(:key)"), {"key": key})
            held = True
        try:
            yield held
        finally:
            if held:
                await session.execute(text("SELECT pg_advisory_unlock(:key)"), {"key": key})
