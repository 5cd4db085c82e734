"""The database handle: one async engine and its session factory per process."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any, TypeVar

from sqlalchemy import event
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)


def configure_sqlite_connection(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA busy_timeout=30000")
    cursor.close()


T = TypeVar("T")


def is_sqlite(url: str) -> bool:
    return make_url(url).get_backend_name() == "sqlite"


class Database:
    """`sessions` open a transaction on first use; `reads` are for requests that only read:
    on PostgreSQL they run in autocommit, which spares a BEGIN and a ROLLBACK round trip
    and sees what a READ COMMITTED transaction would (each statement its own snapshot).

    Pooled connections are not pinged before use (a round trip per request): after the
    database restarts, the first statement on a stale connection fails, SQLAlchemy drops the
    whole pool, and that request is answered 503."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.engine: AsyncEngine = create_async_engine(url)
        if is_sqlite(url):
            event.listen(self.engine.sync_engine, "connect", configure_sqlite_connection)
            reading = self.engine
        else:
            reading = self.engine.execution_options(isolation_level="AUTOCOMMIT")
        self.sessions = async_sessionmaker(self.engine, expire_on_commit=False)
        self.reads = async_sessionmaker(reading, expire_on_commit=False)

    async def session(self) -> AsyncIterator[AsyncSession]:
        async with self.sessions() as session:
            yield session

    async def ping(self) -> None:
        async with self.engine.connect() as connection:
            await connection.exec_driver_sql("SELECT 1")

    async def dispose(self) -> None:
        await self.engine.dispose()


async def run_in_session(url: str, work: Callable[[AsyncSession], Awaitable[T]]) -> T:
    """One unit of work on a short-lived database handle (CLI commands, start-up)."""
    database = Database(url)
    try:
        async with database.sessions() as session:
            return await work(session)
    finally:
        await database.dispose()
