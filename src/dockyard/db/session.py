"""The database handle: one async engine and its session factory per process."""

from __future__ import annotations

import asyncio
import contextlib
import sqlite3
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from typing import Any, TypeVar

import psycopg
import structlog
from sqlalchemy import event, inspect
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)
from sqlalchemy.orm import Session

from dockyard.db import sqlite
from dockyard.db.space import is_disk_full

log = structlog.get_logger(__name__)

DEFAULT_BUSY_SECONDS = 30.0
# libpq's: a connection attempt gives up after this many seconds (it waits forever by
# default), and the kernel probes an idle connection, so one to a server that vanished from
# the network (no reset ever arrives) is dropped within a minute instead of hours.
POSTGRES_CONNECT_ARGS = {
    "connect_timeout": 5,
    "keepalives": 1,
    "keepalives_idle": 20,
    "keepalives_interval": 5,
    "keepalives_count": 3,
}
RETRY_SECONDS = (0.5, 5.0)


def sqlite_connection_setup(busy_seconds: float) -> Callable[[Any, Any], None]:
    def configure_sqlite_connection(dbapi_connection: Any, _record: Any) -> None:
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute(f"PRAGMA busy_timeout={int(busy_seconds * 1000)}")
        cursor.close()

    return configure_sqlite_connection


configure_sqlite_connection = sqlite_connection_setup(DEFAULT_BUSY_SECONDS)


def is_unavailable(exc: BaseException) -> bool:
    """Whether `exc` says the database is away for now rather than the statement is wrong: the
    connection was lost or refused, the server is shutting down or starting, it has no room
    for another session (PostgreSQL's operational errors), or another connection holds a
    SQLite file locked longer than the busy timeout."""
    if not isinstance(exc, DBAPIError):
        return False
    if exc.connection_invalidated:
        return True
    cause = exc.orig
    if isinstance(cause, psycopg.OperationalError):
        return True
    busy = (sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED)
    return isinstance(cause, sqlite3.OperationalError) and (
        getattr(cause, "sqlite_errorcode", 0) & 0xFF in busy
    )


T = TypeVar("T")


async def retry_while_unavailable(what: str, work: Callable[[], Awaitable[T]]) -> T:
    """`work` (one transaction), tried again with back-off for as long as the database is
    unavailable or its disk full (a status change that cannot be stored yet is kept, never
    dropped); any other error at once. Work whose commit was answered by a lost connection is
    done again, so it must be a compare-and-set or otherwise idempotent."""
    delay = RETRY_SECONDS[0]
    while True:
        try:
            return await work()
        except (DBAPIError, OSError) as exc:
            if not (is_unavailable(exc) or is_disk_full(exc)):
                raise
            log.warning("database cannot store", doing=what, error=_first_line(exc), retry_in=delay)
        await asyncio.sleep(delay)
        delay = min(delay * 2, RETRY_SECONDS[1])


@contextlib.contextmanager
def restored_on_failure(row: Any) -> Iterator[None]:
    """The column values of `row` (an ORM object a status move updates in place) put back
    when the block's transaction fails, so the row is again what the database holds and the
    move can be tried once more."""
    saved = {attr.key: getattr(row, attr.key) for attr in inspect(row).mapper.column_attrs}
    try:
        yield
    except DBAPIError:
        for name, value in saved.items():
            setattr(row, name, value)
        raise


ON_COMMIT = "dockyard.on_commit"


def after_commit(session: AsyncSession, action: Callable[[], None]) -> None:
    """Call `action` once the session's transaction commits; never if it rolls back (what
    counts a move, say, counts it once whatever tries its transaction took)."""
    session.sync_session.info.setdefault(ON_COMMIT, []).append(action)


@event.listens_for(Session, "after_commit")
def _run_on_commit(session: Session) -> None:
    for action in session.info.pop(ON_COMMIT, []):
        try:
            action()
        except Exception:  # an action's failure is not the commit's
            log.exception("after-commit action failed")


@event.listens_for(Session, "after_rollback")
def _drop_on_rollback(session: Session) -> None:
    session.info.pop(ON_COMMIT, None)


async def as_one_statement(session: AsyncSession) -> None:
    """For a unit of work that is one statement: on PostgreSQL that statement, the session's
    first, then commits on its own (autocommit), which spares the BEGIN and COMMIT round
    trips; the session's commit has nothing left to do. A session already in a transaction,
    or on SQLite, is left as it is."""
    bind = session.bind
    if session.in_transaction() or bind is None or bind.dialect.name != "postgresql":
        return
    await session.connection(execution_options={"isolation_level": "AUTOCOMMIT"})


def _first_line(exc: BaseException) -> str:
    return str(getattr(exc, "orig", None) or exc).splitlines()[0]


def is_sqlite(url: str) -> bool:
    return make_url(url).get_backend_name() == "sqlite"


def sqlite_connector(url: str) -> Callable[[], Any]:
    """Connections to the SQLite database at `url` that hop to their thread once per
    statement (db/sqlite.py), opened as SQLAlchemy's dialect would open them."""
    parsed = make_url(url)
    (database,), options = parsed.get_dialect()().create_connect_args(parsed)
    return sqlite.connector(database, **options)


class Database:
    """`sessions` open a transaction on first use; `reads` are for requests that only read:
    on PostgreSQL they run in autocommit, which spares a BEGIN and a ROLLBACK round trip
    and sees what a READ COMMITTED transaction would (each statement its own snapshot).

    Pooled connections are not pinged before use (a round trip per request): after the
    database restarts, the first statement on a stale connection fails, SQLAlchemy drops the
    whole pool, and that request is answered 503, as are those that find it still away
    (`is_unavailable`). On SQLite a writer waits `busy_seconds` for another connection's
    lock before it gives up."""

    def __init__(self, url: str, busy_seconds: float = DEFAULT_BUSY_SECONDS) -> None:
        self.url = url
        if is_sqlite(url):
            self.engine: AsyncEngine = create_async_engine(url, async_creator=sqlite_connector(url))
            setup = sqlite_connection_setup(busy_seconds)
            event.listen(self.engine.sync_engine, "connect", setup)
            reading = self.engine
        else:
            self.engine = create_async_engine(url, connect_args=POSTGRES_CONNECT_ARGS)
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


def sync_url(url: str) -> str:
    """The same database through a synchronous driver, for Alembic."""
    parsed = make_url(url)
    if parsed.drivername == "sqlite+aiosqlite":
        parsed = parsed.set(drivername="sqlite")
    return parsed.render_as_string(hide_password=False)
