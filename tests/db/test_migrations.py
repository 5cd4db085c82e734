"""The migrations build the whole schema from empty, on SQLite and on PostgreSQL, and match
the models (no change left un-migrated)."""

from __future__ import annotations

from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import create_engine, inspect, text

from dockyard.db.migrate import MIGRATIONS_DIR, alembic_config, sync_url, upgrade_to_head
from dockyard.db.models import Base
from dockyard.secrets.crypto import SecretBox, decode_key, new_key_text

BOX = SecretBox([decode_key(new_key_text())])


def head_revisions(url: str) -> set[str]:
    return set(ScriptDirectory.from_config(alembic_config(url)).get_heads())


def assert_migrated_from_empty(url: str) -> None:
    upgrade_to_head(url, BOX)
    upgrade_to_head(url, BOX)  # idempotent at start-up
    engine = create_engine(sync_url(url))
    try:
        with engine.connect() as connection:
            assert set(Base.metadata.tables) <= set(inspect(connection).get_table_names())
            versions = connection.execute(text("SELECT version_num FROM alembic_version"))
            assert set(versions.scalars()) == head_revisions(url)
            diff = compare_metadata(MigrationContext.configure(connection), Base.metadata)
            assert diff == [], f"models and migrations disagree: {diff}"
    finally:
        engine.dispose()


def test_sqlite_migrates_from_empty(tmp_path: Path) -> None:
    assert_migrated_from_empty(f"sqlite+aiosqlite:///{tmp_path / 'empty.db'}")


def test_sqlite_is_in_wal_mode(tmp_path: Path) -> None:
    path = tmp_path / "wal.db"
    upgrade_to_head(f"sqlite+aiosqlite:///{path}", BOX)
    engine = create_engine(f"sqlite:///{path}")
    with engine.connect() as connection:
        assert connection.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
    engine.dispose()


@pytest.mark.postgres
def test_postgres_migrates_from_empty(empty_postgres_database: str) -> None:
    assert_migrated_from_empty(empty_postgres_database)


def test_migration_files_are_packaged() -> None:
    assert any(MIGRATIONS_DIR.joinpath("versions").glob("0001_*.py"))
