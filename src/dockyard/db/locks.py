"""Work one process of an installation does at a time (a scheduled garbage collection): a
lock its holder's death releases. On PostgreSQL a session advisory lock, which every host of
the installation sees; on SQLite, whose processes share one machine, a file lock beside the
database file (the migrations serialise themselves alike)."""

from __future__ import annotations

import contextlib
import fcntl
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

from sqlalchemy import make_url, text

from dockyard.db.session import Database, is_sqlite


@contextlib.asynccontextmanager
async def held_alone(database: Database, name: str, key: int) -> AsyncIterator[bool]:
    """Whether this process holds the lock `name` (`key` on PostgreSQL) for the block, or
    another one does (then nothing waits: False)."""
    if is_sqlite(database.url):
        with _file_lock(database.url, name) as held:
            yield held
        return
    async with database.engine.connect() as connection:
        session = await connection.execution_options(isolation_level="AUTOCOMMIT")
        held = bool(await session.scalar(text("SELECT pg_try_advisory_lock(:key)"), {"key": key}))
        try:
            yield held
        finally:
            if held:
                await session.execute(text("SELECT pg_advisory_unlock(:key)"), {"key": key})


@contextlib.contextmanager
def _file_lock(url: str, name: str) -> Iterator[bool]:
    database = Path(make_url(url).database or "dockyard.db")
    with database.with_name(f"{database.name}.{name}.lock").open("a") as lock:
        try:
            fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            yield False
            return
        yield True
