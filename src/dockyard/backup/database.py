"""The database's part of a backup: a consistent snapshot and putting it back. SQLite through
its online backup API (the database runs in WAL mode, so its files are not copied), PostgreSQL
through `pg_dump --format=custom` and `pg_restore`, with the password in PGPASSWORD, never on
a command line."""

from __future__ import annotations

import contextlib
import os
import shutil
import sqlite3
import subprocess
from pathlib import Path

from sqlalchemy import URL, create_engine, inspect, make_url

from dockyard.db.session import sync_url
from dockyard.errors import DockyardError
from dockyard.migrations.tables import Base

SQLITE = "sqlite"
POSTGRESQL = "postgresql"
DUMP_TIMEOUT_SECONDS = 3600


class BackupError(DockyardError):
    code = "backup-error"


def kind_of(url: str) -> str:
    backend = make_url(url).get_backend_name()
    if backend not in (SQLITE, POSTGRESQL):
        raise BackupError(f"cannot back up a {backend} database")
    return backend


def sqlite_path(url: str) -> Path:
    database = make_url(url).database
    if not database or database == ":memory:":
        raise BackupError("the SQLite database is in memory: nothing to back up")
    return Path(database)


def snapshot(url: str, into: Path) -> None:
    """A consistent copy of the database at `url` in the file `into`, while others write."""
    if kind_of(url) == SQLITE:
        _sqlite_snapshot(sqlite_path(url), into)
    else:
        _pg_run("pg_dump", url, ["--format=custom", "--no-owner", f"--file={into}"])


def _sqlite_snapshot(source: Path, into: Path) -> None:
    if not source.exists():
        raise BackupError(f"no database at {source}")
    with (
        contextlib.closing(sqlite3.connect(source)) as live,
        contextlib.closing(sqlite3.connect(into)) as copy,
    ):
        live.execute("PRAGMA busy_timeout = 30000")
        live.backup(copy)  # one step: one read transaction, so one consistent state
        copy.execute("PRAGMA journal_mode = DELETE")  # one self-contained file


def restore(url: str, snapshot_file: Path) -> None:
    """The snapshot into the (empty) database at `url`."""
    if kind_of(url) == SQLITE:
        target = sqlite_path(url)
        target.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        staged = target.with_name(f".{target.name}.restoring")
        shutil.copyfile(snapshot_file, staged)
        os.chmod(staged, 0o600)
        os.replace(staged, target)
    else:
        _pg_run(
            "pg_restore",
            url,
            [
                "--no-owner",
                "--no-acl",
                "--exit-on-error",
                "--single-transaction",
                str(snapshot_file),
            ],
        )


def refuse_occupied(url: str) -> None:
    """BackupError when the database at `url` already has dockyard tables."""
    found = dockyard_tables(url)
    if found:
        shown = make_url(url).render_as_string()
        raise BackupError(
            f"the database {shown} already has dockyard tables ({', '.join(found[:5])}): "
            "restore into an empty database"
        )


def dockyard_tables(url: str) -> list[str]:
    """The tables of dockyard's schema (its revision table included) the database at `url`
    has."""
    if kind_of(url) == SQLITE and not sqlite_path(url).exists():
        return []
    engine = create_engine(sync_url(url))
    try:
        with engine.connect() as connection:
            tables = set(inspect(connection).get_table_names())
    finally:
        engine.dispose()
    return sorted(tables & ({"alembic_version"} | set(Base.metadata.tables)))


def _pg_run(tool: str, url: str, arguments: list[str]) -> None:
    binary = shutil.which(tool)
    if binary is None:
        raise BackupError(f"{tool} is not installed (apt-get install postgresql-client)")
    parsed = make_url(url)
    done = subprocess.run(
        [binary, *_pg_connection(parsed), *arguments],
        env=os.environ | ({"PGPASSWORD": parsed.password} if parsed.password else {}),
        capture_output=True,
        text=True,
        timeout=DUMP_TIMEOUT_SECONDS,
        check=False,
    )
    if done.returncode != 0:
        raise BackupError(f"{tool} failed: {done.stderr.strip()[-800:]}")


def _pg_connection(url: URL) -> list[str]:
    arguments = [f"--dbname={url.database}"]
    if url.host:
        arguments.append(f"--host={url.host}")
    if url.port:
        arguments.append(f"--port={url.port}")
    if url.username:
        arguments.append(f"--username={url.username}")
    return [*arguments, "--no-password"]
