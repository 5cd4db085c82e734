"""A full disk under the database: recognised (SQLite's "database or disk is full",
PostgreSQL's disk_full, the data dir's ENOSPC); `db.session.retry_while_unavailable` waits it
out where a write must not be lost.

SQLite keeps its file and its write-ahead log in the data dir, so a full data dir refuses the
database's writes too while reads go on."""

from __future__ import annotations

from sqlalchemy.exc import DBAPIError

from dockyard.errors import NO_SPACE_ERRNOS

SQLITE_FULL = 13
POSTGRES_DISK_FULL = "53100"


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
