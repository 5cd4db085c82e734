"""The database schema's history (Alembic: env.py, versions/) and applying it programmatically,
at start and from tests. Above every domain: `tables.py` imports all their tables."""

from __future__ import annotations

import fcntl
from pathlib import Path

from alembic import command
from alembic.config import Config

from dockyard.config import Settings
from dockyard.db.session import sync_url
from dockyard.secrets.crypto import SecretBox

MIGRATIONS_DIR = Path(__file__).parent


def alembic_config(url: str, box: SecretBox | None = None) -> Config:
    """The migrations' configuration; `box` seals the values migrations move out of the
    clear (0013_sealed_urls stops, changing nothing, without it)."""
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    config.attributes["sqlalchemy_url"] = sync_url(url)
    if box is not None:
        config.attributes["secret_box"] = box
    return config


def upgrade_to_head(url: str, box: SecretBox | None = None) -> None:
    command.upgrade(alembic_config(url, box), "heads")


def prepare_storage(settings: Settings) -> None:
    """The data dir exists and the database schema is current. Processes sharing the data dir
    (`dockyard api` and `dockyard worker` started together) migrate one after the other;
    PostgreSQL servers shared by several hosts are serialised by an advisory lock as well."""
    settings.ensure_data_dir()
    with (settings.data_dir / "migrate.lock").open("a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        upgrade_to_head(settings.resolved_database_url, SecretBox.from_settings(settings))
