"""A full disk under the database: recognised (SQLite's "database or disk is full",
PostgreSQL's disk_full, the data dir's ENOSPC), and waited out where a write must not be lost.

SQLite keeps its file and its write-ahead log in the data dir, so a full data dir refuses the
database's writes too while reads go on."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable, Iterator
from typing import Any, TypeVar

import structlog
from sqlalchemy import inspect
from sqlalchemy.exc import DBAPIError

from dockyard.errors import NO_SPACE_ERRNOS

log = structlog.get_logger(__name__)

T = TypeVar("T")

SQLITE_FULL = 13
POSTGRES_DISK_FULL = "53100"
RETRY_SECONDS = 1.0


def is_disk_full(exc: BaseException) -> bool:
    """Whether `exc` means no space was left to store something."""
    if isinstance(exc, OSError):
        return exc.errno in NO_SPACE_ERRNOS
    if not isinstance(exc, DBAPIError):
        return False
    orig = exc.orig
    return (
        getattr(orig, "sqlite_errorcode", None) == SQLITE_FULL
        or getattr(orig, "sqlstate", None) == POSTGRES_DISK_FULL
    )


async def retry_while_full(
    work: Callable[[], Awaitable[T]], what: str, pause: float = RETRY_SECONDS
) -> T:
    """`work` (one transaction, safe to repeat), tried again every `pause` seconds for as long
    as the database's disk is full: a status change that cannot be stored yet is kept until
    there is space, never dropped."""
    waited = False
    while True:
        try:
            done = await work()
        except (DBAPIError, OSError) as exc:
            if not is_disk_full(exc):
                raise
            if not waited:
                log.warning(f"{what} waits for disk space", error=str(exc).splitlines()[0])
                waited = True
            await asyncio.sleep(pause)
            continue
        if waited:
            log.info(f"{what} stored once the disk had space again")
        return done


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
