from __future__ import annotations

from typing import Any, Literal

from alembic import context
from sqlalchemy import create_engine, event, text

from dockyard.db.base import UtcDateTime
from dockyard.db.models import Base
from dockyard.db.session import configure_sqlite_connection, is_sqlite


def render_item(type_: str, obj: Any, _context: Any) -> str | Literal[False]:
    """Write UtcDateTime columns as plain timezone-aware DateTime in migrations."""
    if type_ == "type" and isinstance(obj, UtcDateTime):
        return "sa.DateTime(timezone=True)"
    return False


# Any constant: processes that start together (API, workers) migrate one after the other.
MIGRATION_LOCK_KEY = 0x646F636B

url = context.config.attributes["sqlalchemy_url"]
engine = create_engine(url)
if is_sqlite(url):
    event.listen(engine, "connect", configure_sqlite_connection)

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
engine.dispose()
