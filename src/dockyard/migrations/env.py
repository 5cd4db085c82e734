from __future__ import annotations

from typing import Any, Literal

from alembic import context
from sqlalchemy import create_engine, event, text

from dockyard.db.base import UtcDateTime
from dockyard.db.session import configure_sqlite_connection, is_sqlite
from dockyard.migrations.tables import Base


def render_item(type_: str, obj: Any, _context: Any) -> str | Literal[False]:
    """Write UtcDateTime columns as plain timezone-aware DateTime in migrations."""
    if type_ == "type" and isinstance(obj, UtcDateTime):
        return "sa.DateTime(timezone=True)"
    return False


# Any constant: processes that start together (API, workers) migrate one after the other.
MIGRATION_LOCK_KEY = 0x646F636B


def configure_migrating_sqlite_connection(dbapi_connection: Any, record: Any) -> None:
    """Foreign keys off while migrating: a batch migration rebuilds a table by copying it and
    dropping the old one, and with them on that drop would delete (ON DELETE CASCADE) every
    row of the tables that refer to it. They are checked once the migrations ran."""
    configure_sqlite_connection(dbapi_connection, record)
    dbapi_connection.execute("PRAGMA foreign_keys=OFF")


def check_foreign_keys(connection: Any) -> None:
    broken = connection.execute(text("PRAGMA foreign_key_check")).fetchall()
    if broken:
        raise RuntimeError(f"the migrations left rows whose foreign keys point nowhere: {broken}")


url = context.config.attributes["sqlalchemy_url"]
engine = create_engine(url)
if is_sqlite(url):
    event.listen(engine, "connect", configure_migrating_sqlite_connection)

with engine.connect() as connection:
    if connection.dialect.name == "postgresql":
        # Held until the connection closes; the version is read after it is granted.
        connection.execute(text("SELECT pg_advisory_lock(:key)"), {"key": MIGRATION_LOCK_KEY})
        connection.commit()
    context.configure(
        connection=connection,
        target_metadata=Base.metadata,
        render_as_batch=is_sqlite(url),
        compare_type=True,
        render_item=render_item,
    )
    with context.begin_transaction():
        context.run_migrations()
    if is_sqlite(url):
        check_foreign_keys(connection)
engine.dispose()
