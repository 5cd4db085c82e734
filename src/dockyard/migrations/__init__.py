"""The database schema's history (Alembic: env.py, versions/) and applying it programmatically,
at start and from tests. Above every domain: `tables.py` imports all their tables."""

from __future__ import annotations

import fcntl
from functools import cache
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import create_engine, make_url

from dockyard import __version__
from dockyard.config import Settings
from dockyard.db.session import sync_url
from dockyard.errors import DockyardError
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


class SchemaMismatch(DockyardError):
    code = "schema-mismatch"


@cache
def _script() -> ScriptDirectory:
    """The code's revisions (read once per process: they do not change while it runs)."""
    return ScriptDirectory(str(MIGRATIONS_DIR))


def schema_revisions(url: str) -> tuple[frozenset[str], frozenset[str]]:
    """The database's schema revisions (none: no dockyard database there yet) and the code's."""
    heads = frozenset(_script().get_heads())
    engine = create_engine(sync_url(url))
    try:
        with engine.connect() as connection:
            current = frozenset(MigrationContext.configure(connection).get_current_heads())
    finally:
        engine.dispose()
    return current, heads


def unknown_revisions(revisions: frozenset[str]) -> list[str]:
    """Those of `revisions` this code does not know: they come from a newer dockyard."""
    known = {revision.revision for revision in _script().walk_revisions()}
    return sorted(revisions - known)


def _refuse_newer(url: str, current: frozenset[str]) -> None:
    unknown = unknown_revisions(current)
    if unknown:
        raise SchemaMismatch(
            f"The database's schema ({', '.join(unknown)}) is newer than this dockyard "
            f"({__version__}) knows: run the dockyard version that wrote it, or a newer one "
            "(see CHANGELOG.md for rolling back)"
        )


def prepare_storage(settings: Settings) -> None:
    """The data dir exists and the database schema is migrated to the code's (what `dockyard
    migrate`, `up`, `api` and `worker` do at start); a database newer than the code is
    refused. Processes sharing the data dir (`dockyard api` and `dockyard worker` started
    together) migrate one after the other; PostgreSQL servers shared by several hosts are
    serialised by an advisory lock as well."""
    settings.ensure_data_dir()
    url = settings.resolved_database_url
    with (settings.data_dir / "migrate.lock").open("a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        _refuse_newer(url, schema_revisions(url)[0])
        upgrade_to_head(url, SecretBox.from_settings(settings))


def open_storage(settings: Settings) -> None:
    """The database is there with the code's schema, or a clear error (what the commands
    that do not migrate check: `token`, `secrets`, `gc`)."""
    settings.ensure_data_dir()
    url = settings.resolved_database_url
    current, heads = schema_revisions(url)
    if current == heads:
        return
    _refuse_newer(url, current)
    if not current:
        raise SchemaMismatch(
            f"No dockyard database at {make_url(url).render_as_string()}: run `dockyard migrate` "
            "(or `dockyard up`) first"
        )
    raise SchemaMismatch(
        f"The database's schema ({', '.join(sorted(current))}) is older than this dockyard's "
        f"({', '.join(sorted(heads))}): run `dockyard migrate` (`up`, `api` and `worker` "
        "migrate at start too)"
    )
