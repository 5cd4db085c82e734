"""`dockyard migrate-data`: every row of an installation's SQLite database into an empty
PostgreSQL one, migrated first to the same schema, in one transaction. The rows are read from
a consistent snapshot (SQLite's online backup API) through the models' tables, so their types
carry the values over (UTC datetimes, booleans, JSON); sealed secrets are copied as they are,
and open with the same key. The counters of integer primary keys are then set past the
copied rows, and each table's row count is checked before the commit."""

from __future__ import annotations

import tempfile
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import Connection, Integer, Table, create_engine, func, make_url, select
from sqlalchemy.exc import DBAPIError, OperationalError

from dockyard.backup.database import POSTGRESQL, SQLITE, dockyard_tables, snapshot, sqlite_path
from dockyard.config import Settings
from dockyard.db.session import sync_url
from dockyard.errors import DockyardError
from dockyard.migrations import open_storage, schema_revisions, upgrade_to_head
from dockyard.migrations.tables import Base
from dockyard.secrets.crypto import SecretBox

# Rows read and inserted at a time: log lines may be millions.
CHUNK_ROWS = 2000


class MigrateDataError(DockyardError):
    code = "migrate-data-error"


@dataclass(frozen=True)
class Copied:
    table: str
    rows: int


def postgres_url(url: str) -> str:
    """`url` as DOCKYARD_DATABASE_URL takes it (psycopg's driver); MigrateDataError unless it
    names a PostgreSQL database."""
    parsed = make_url(url)
    if parsed.get_backend_name() != POSTGRESQL:
        raise MigrateDataError(
            f"--to must be a PostgreSQL URL (postgresql+psycopg://user:pass@host/db), "
            f"not {parsed.get_backend_name()}"
        )
    return parsed.set(drivername="postgresql+psycopg").render_as_string(hide_password=False)


def migrate_data(settings: Settings, to: str) -> list[Copied]:
    """Copy the settings' SQLite database into the empty PostgreSQL database `to`; each
    table's rows. Refused, writing nothing, unless the source is SQLite at this dockyard's
    schema and the target holds no dockyard table (or only empty ones, at that schema)."""
    source = settings.resolved_database_url
    if make_url(source).get_backend_name() != SQLITE:
        raise MigrateDataError(
            "migrate-data copies from SQLite, and DOCKYARD_DATABASE_URL is "
            f"{make_url(source).get_backend_name()}"
        )
    open_storage(settings)
    target = postgres_url(to)
    try:
        _refuse_occupied(target)
    except OperationalError as exc:
        shown = make_url(target).render_as_string()
        raise MigrateDataError(f"cannot reach {shown}: {str(exc.orig).strip()}") from exc
    with tempfile.TemporaryDirectory(
        prefix=".dockyard-migrate-data-", dir=sqlite_path(source).parent
    ) as work:
        copy = Path(work) / "dockyard.db"
        snapshot(source, copy)
        upgrade_to_head(target, SecretBox.from_settings(settings))
        return _copy_rows(f"sqlite:///{copy}", target)


def _refuse_occupied(url: str) -> None:
    shown = make_url(url).render_as_string()
    if not dockyard_tables(url):
        return
    current, heads = schema_revisions(url)
    if current != heads:
        raise MigrateDataError(
            f"the database {shown} already has dockyard tables, at schema "
            f"{', '.join(sorted(current)) or 'unknown'}: migrate into an empty database"
        )
    filled = [f"{table}: {rows} rows" for table, rows in row_counts(url).items() if rows]
    if filled:
        raise MigrateDataError(
            f"the database {shown} is not empty ({', '.join(filled[:5])}): migrate into an "
            "empty database"
        )


def row_counts(url: str) -> dict[str, int]:
    """Each table of the schema: its rows in the database at `url`."""
    engine = create_engine(sync_url(url))
    try:
        with engine.connect() as connection:
            return {table.name: _count(connection, table) for table in Base.metadata.sorted_tables}
    finally:
        engine.dispose()


def _count(connection: Connection, table: Table) -> int:
    return connection.scalar(select(func.count()).select_from(table)) or 0


def _copy_rows(source: str, target: str) -> list[Copied]:
    reading = create_engine(source)
    writing = create_engine(target)
    try:
        with reading.connect() as rows, writing.begin() as into:
            copied = [
                Copied(table.name, _copy_table(rows, into, table))
                for table in Base.metadata.sorted_tables  # parents before the rows naming them
            ]
            for table in Base.metadata.sorted_tables:
                _reset_counters(into, table)
            for done in copied:
                stored = _count(into, Base.metadata.tables[done.table])
                if stored != done.rows:  # raised inside the transaction: nothing is kept
                    raise MigrateDataError(
                        f"{done.table}: {done.rows} rows read but {stored} stored; nothing kept"
                    )
    finally:
        reading.dispose()
        writing.dispose()
    return copied


def _copy_table(rows: Connection, into: Connection, table: Table) -> int:
    """The rows of `table` copied; MigrateDataError naming it when PostgreSQL refuses one
    (SQLite keeps what PostgreSQL does not: a string longer than its column, say)."""
    count = 0
    result = rows.execution_options(yield_per=CHUNK_ROWS).execute(select(table))
    try:
        for chunk in result.mappings().partitions():
            into.execute(table.insert(), [dict(row) for row in chunk])
            count += len(chunk)
    except DBAPIError as exc:
        reason = str(exc.orig).splitlines()[0]
        raise MigrateDataError(
            f"{table.name}: PostgreSQL refused a row after {count}: {reason}; nothing kept"
        ) from exc
    return count


def _reset_counters(into: Connection, table: Table) -> None:
    """The sequence behind each integer primary key of `table` (serial or identity) hands
    out ids past the copied ones."""
    for column in table.primary_key.columns:
        if not isinstance(column.type, Integer):
            continue
        sequence = into.scalar(select(func.pg_get_serial_sequence(table.name, column.name)))
        if sequence is None:
            continue
        highest = select(func.max(column)).scalar_subquery()
        into.execute(select(func.setval(sequence, func.coalesce(highest, 0) + 1, False)))
