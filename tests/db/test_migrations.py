"""The migrations build the whole schema from empty, on SQLite and on PostgreSQL, and match
the models (no change left un-migrated)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import create_engine, inspect, text

from dockyard.migrations import MIGRATIONS_DIR, alembic_config, sync_url, upgrade_to_head
from dockyard.migrations.tables import Base
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


def test_sqlite_table_rebuilds_keep_the_rows_that_refer_to_them(tmp_path: Path) -> None:
    """0013 rebuilds webhook_deliveries (a new unique key): the CI events of its deliveries
    (ON DELETE CASCADE) must survive the drop of the old table."""
    url = f"sqlite+aiosqlite:///{tmp_path / 'old.db'}"
    command.upgrade(alembic_config(url, BOX), "0012_notification_log_access")
    engine = create_engine(sync_url(url))
    try:
        with engine.begin() as connection:
            connection.execute(
                text(
                    "INSERT INTO projects (id, uid, name, created_at, updated_at) "
                    "VALUES ('p', 'puid', 'P', :now, :now)"
                ),
                {"now": "2026-12-01 00:00:00"},
            )
            connection.execute(
                text(
                    "INSERT INTO webhook_deliveries (pk, provider, delivery_id, repository, "
                    "received_at) VALUES (1, 'github', 'd-1', 'git.example/acme/app', :now)"
                ),
                {"now": "2026-12-01 00:00:00"},
            )
            connection.execute(
                text(
                    "INSERT INTO ci_events (project_id, target_kind, target_id, delivery_pk, "
                    "branch, sha, built, reason, created_at) VALUES ('p', 'job', 'j', 1, "
                    "'main', :sha, false, 'kept', :now)"
                ),
                {"sha": "a" * 40, "now": "2026-12-01 00:00:00"},
            )
        upgrade_to_head(url, BOX)
        with engine.connect() as connection:
            reasons = connection.execute(text("SELECT reason FROM ci_events")).scalars()
            assert list(reasons) == ["kept"]
    finally:
        engine.dispose()


@pytest.mark.postgres
def test_postgres_migrates_from_empty(empty_postgres_database: str) -> None:
    assert_migrated_from_empty(empty_postgres_database)


def test_migration_files_are_packaged() -> None:
    assert any(MIGRATIONS_DIR.joinpath("versions").glob("0001_*.py"))


def test_project_integrations_become_integrations_restricted_to_their_project(
    tmp_path: Path,
) -> None:
    """0019: each project's integration is kept, restricted to its project, under its id (the
    second `alerts` suffixed with its project), with its deliveries."""
    url = f"sqlite+aiosqlite:///{tmp_path / 'old.db'}"
    command.upgrade(alembic_config(url, BOX), "0021_token_ids")
    engine = create_engine(sync_url(url))
    now = {"now": "2026-12-01 00:00:00"}
    try:
        with engine.begin() as connection:
            for project in ("p", "q"):
                connection.execute(
                    text(
                        "INSERT INTO projects (id, uid, name, created_at, updated_at) "
                        f"VALUES ('{project}', 'uid-{project}', '{project}', :now, :now)"
                    ),
                    now,
                )
                connection.execute(
                    text(
                        "INSERT INTO notification_integrations (project_id, id, uid, spec, "
                        "sealed_webhook, job_logs, service_logs, failed_attempts, created_at, "
                        f"updated_at) VALUES ('{project}', 'alerts', 'i-{project}', "
                        """'{"name": "Alerts", "restricted": false}', 'sealed', false, false, """
                        "0, :now, :now)"
                    ),
                    now,
                )
            connection.execute(
                text(
                    "INSERT INTO notification_deliveries (id, integration_pk, event, payload, "
                    "status, attempts, next_attempt_at, created_at) VALUES ('d', 2, 'e', '{}', "
                    "'pending', 0, :now, :now)"
                ),
                now,
            )
        upgrade_to_head(url, BOX)
        with engine.connect() as connection:
            rows = connection.execute(
                text("SELECT pk, id, spec, all_projects FROM notification_integrations")
            ).all()
            assert [(pk, id_, all_) for pk, id_, _, all_ in rows] == [
                (1, "alerts", False),
                (2, "alerts-q", False),
            ]
            specs = [json.loads(spec) for _, _, spec, _ in rows]
            assert [(s["restricted"], s["restrictions"]) for s in specs] == [
                (True, {"projects": ["p"]}),
                (True, {"projects": ["q"]}),
            ]
            projects = connection.execute(
                text("SELECT integration_pk, project_id FROM notification_integration_projects")
            ).all()
            assert sorted(projects) == [(1, "p"), (2, "q")]
            kept = connection.execute(text("SELECT integration_pk FROM notification_deliveries"))
            assert list(kept.scalars()) == [2]
    finally:
        engine.dispose()
