"""SQLite connections hop to their thread once per statement and not at all to end a
transaction that is not open; one that is open is still rolled back when its session ends
without a commit, and its lock is released."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from pathlib import Path
from typing import Any

import aiosqlite
import pytest
from sqlalchemy import text

from dockyard.db.session import Database


def counting_hops(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The names of the functions run in a connection's thread from now on."""
    hops: list[str] = []
    real = aiosqlite.Connection._execute

    async def counted(self: aiosqlite.Connection, fn: Callable[..., Any], *args: Any) -> Any:
        hops.append(getattr(args[0] if args else fn, "__name__", repr(fn)))
        return await real(self, fn, *args)

    monkeypatch.setattr(aiosqlite.Connection, "_execute", counted)
    return hops


def test_one_hop_per_statement_none_for_no_transaction(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    async def scenario() -> None:
        database = Database(f"sqlite+aiosqlite:///{tmp_path / 'hops.db'}", busy_seconds=1)
        try:
            async with database.sessions() as session:
                await session.execute(text("CREATE TABLE t (n INTEGER)"))
                await session.commit()
            hops = counting_hops(monkeypatch)
            async with database.reads() as session:  # a read: no transaction to end
                assert (await session.execute(text("SELECT count(*) FROM t"))).scalar() == 0
                await session.execute(text("SELECT n FROM t"))
            assert len(hops) == 2, hops
            hops.clear()
            async with database.sessions() as session:  # a write: its commit is one more
                result = await session.execute(text("INSERT INTO t VALUES (1), (2)"))
                assert getattr(result, "rowcount", None) == 2
                await session.commit()
            assert len(hops) == 2, hops
        finally:
            await database.dispose()

    asyncio.run(scenario())


def test_an_open_transaction_is_rolled_back_and_unlocked(tmp_path: Path) -> None:
    async def scenario() -> None:
        database = Database(f"sqlite+aiosqlite:///{tmp_path / 'rollback.db'}", busy_seconds=1)
        try:
            async with database.sessions() as session:
                await session.execute(text("CREATE TABLE t (n INTEGER)"))
                await session.commit()
            async with database.sessions() as session:
                await session.execute(text("INSERT INTO t VALUES (1)"))  # never committed
            async with database.sessions() as first, database.sessions() as second:
                # Had the pooled connection kept its transaction, the second writer would
                # wait for its lock and fail after the 1 s busy timeout.
                await first.execute(text("SELECT 1"))
                await second.execute(text("INSERT INTO t VALUES (2)"))
                await second.commit()
            async with database.reads() as session:
                rows = (await session.execute(text("SELECT n FROM t"))).scalars().all()
            assert rows == [2]
        finally:
            await database.dispose()

    asyncio.run(scenario())
