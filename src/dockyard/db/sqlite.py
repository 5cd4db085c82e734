"""aiosqlite connections that hop to their thread once per statement.

aiosqlite runs each call on a connection in the connection's own thread; SQLAlchemy makes
four such calls for each statement (open a cursor, execute, fetch the rows, close the
cursor) and one more to roll back each connection it gets back, whether or not a transaction
is open. Each hop is a thread switch and a wake-up of the event loop, which on a busy machine
costs more than the statement. Here a statement is one hop (the rows fetched and the sqlite3
cursor closed with it, as SQLAlchemy fetches them all at once anyway), and a commit or a
rollback with no transaction open (sqlite3 would do nothing) is none."""

from __future__ import annotations

import sqlite3
from collections import deque
from collections.abc import Callable, Sequence
from functools import partial
from typing import Any

import aiosqlite

DEFAULT_CHUNK_SIZE = 64  # aiosqlite.connect's iter_chunk_size

Description = tuple[tuple[Any, ...], ...] | None


class OneHopCursor:
    """What SQLAlchemy's aiosqlite adapter asks of a cursor, each statement run in one hop."""

    arraysize = 1

    def __init__(self, connection: OneHopConnection) -> None:
        self._connection = connection
        self._rows: deque[Any] = deque()
        self.description: Description = None
        self.rowcount = -1
        self.lastrowid: int | None = None

    async def __aenter__(self) -> OneHopCursor:
        return self

    async def execute(self, sql: str, parameters: Sequence[Any] = ()) -> OneHopCursor:
        await self._run(sqlite3.Cursor.execute, sql, parameters)
        return self

    async def executemany(self, sql: str, parameters: Sequence[Sequence[Any]]) -> OneHopCursor:
        await self._run(sqlite3.Cursor.executemany, sql, parameters)
        return self

    async def _run(self, method: Callable[..., Any], sql: str, parameters: Any) -> None:
        rows, self.description, self.rowcount, self.lastrowid = await self._connection._execute(
            self._connection.run_statement, method, sql, parameters
        )
        self._rows = deque(rows)

    async def fetchone(self) -> Any:
        return self._rows.popleft() if self._rows else None

    async def fetchmany(self, size: int | None = None) -> list[Any]:
        count = min(size or self.arraysize, len(self._rows))
        return [self._rows.popleft() for _ in range(count)]

    async def fetchall(self) -> list[Any]:
        rows = list(self._rows)
        self._rows.clear()
        return rows

    async def close(self) -> None:
        self._rows.clear()


class OneHopConnection(aiosqlite.Connection):
    def __init__(self, connector: Callable[[], sqlite3.Connection]) -> None:
        super().__init__(connector, DEFAULT_CHUNK_SIZE)
        # Whether a transaction was open after the last call in the thread (assumed until one
        # has run), read there: sqlite3 may refuse a read from another thread.
        self._in_transaction = True

    def cursor(self) -> OneHopCursor:  # type: ignore[override]
        return OneHopCursor(self)

    def run_statement(
        self, method: Callable[..., Any], sql: str, parameters: Any
    ) -> tuple[list[Any], Description, int, int | None]:
        """In the thread: the statement's rows, description, row count and last row id."""
        cursor = self._conn.cursor()
        try:
            method(cursor, sql, parameters)
            rows = cursor.fetchall() if cursor.description else []
            return rows, cursor.description, cursor.rowcount, cursor.lastrowid
        finally:
            cursor.close()

    async def _execute(self, fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        tracked = partial(self._tracking, partial(fn, *args, **kwargs))
        return await super()._execute(tracked)  # type: ignore[no-untyped-call]

    def _tracking(self, call: Callable[[], Any]) -> Any:
        try:
            return call()
        finally:
            self._in_transaction = self._transaction_open()

    def _transaction_open(self) -> bool:
        try:
            return self._connection is not None and self._connection.in_transaction
        except sqlite3.ProgrammingError:  # the call closed the connection
            return False

    async def commit(self) -> None:
        if self._in_transaction:
            await super().commit()

    async def rollback(self) -> None:
        if self._in_transaction:
            await super().rollback()


def connector(database: str, **options: Any) -> Callable[[], aiosqlite.Connection]:
    """An `async_creator` for SQLAlchemy: what aiosqlite.connect(database, **options) would
    connect to, on a OneHopConnection."""

    def connect() -> aiosqlite.Connection:
        connection = OneHopConnection(partial(sqlite3.connect, database, **options))
        # As SQLAlchemy does for aiosqlite's own: a connection left open never holds up exit.
        connection._thread.daemon = True
        return connection

    return connect
