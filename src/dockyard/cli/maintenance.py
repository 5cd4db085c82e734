"""`dockyard migrate`: the database to this dockyard's schema; `dockyard gc`: bound the disk,
on the server's host (its database, engine and registry); `dockyard registry-htpasswd`: the
auth file of an operator's registry."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Annotated

import typer

from dockyard import __version__
from dockyard.cli.output import err, out
from dockyard.config import load_settings
from dockyard.db.locks import held_alone
from dockyard.db.session import Database
from dockyard.engine.registry import write_htpasswd
from dockyard.errors import DockyardError
from dockyard.gc.schedule import LOCK, LOCK_KEY, collected_alone
from dockyard.gc.service import Collected, collect
from dockyard.migrations import open_storage, prepare_storage, schema_revisions
from dockyard.secrets.credentials import registry_login


def migrate() -> None:
    """Migrate the database to this dockyard's schema (`up`, `api` and `worker` do it at start;
    other commands only check it). A database newer than this dockyard is refused."""
    settings = load_settings()
    prepare_storage(settings)
    current, _ = schema_revisions(settings.resolved_database_url)
    out.print(f"database schema {', '.join(sorted(current))} (dockyard {__version__})")


def gc(
    dry_run: Annotated[bool, typer.Option(help="list what would go, remove nothing")] = False,
) -> None:
    """Remove images of deleted jobs and services and of builds older than
    DOCKYARD_IMAGE_RETENTION_DAYS, stale build directories, unused source caches, build
    cache and the networks of deleted projects."""
    settings = load_settings()
    open_storage(settings)

    async def run() -> Collected:
        database = Database(settings.resolved_database_url)
        try:
            if dry_run:
                return await collect(settings, database, dry_run=True)
            done = await collected_alone(settings, database)
            if done is None:
                err.print("another process is collecting: waiting for it to finish", markup=False)
                async with held_alone(database, LOCK, LOCK_KEY, wait=True):
                    done = await collect(settings, database)
            return done
        finally:
            await database.dispose()

    _report(asyncio.run(run()), dry_run)


def _report(done: Collected, dry_run: bool) -> None:
    verb = "would remove" if dry_run else "removed"
    for manifest in done.manifests:
        out.print(f"{verb} {manifest.repository}:{','.join(manifest.tags)}", markup=False)
    for tag in done.local_tags:
        out.print(f"{verb} local tag {tag}", markup=False)
    for directory in done.build_dirs:
        out.print(f"{verb} build dir {directory}", markup=False)
    for directory in done.source_caches:
        out.print(f"{verb} source cache {directory}", markup=False)
    for network, project in done.networks.items():
        out.print(f"{verb} network {network[:12]} of deleted project {project}", markup=False)
    out.print(
        f"{verb} {len(done.manifests)} registry manifests, "
        f"{len(done.local_tags) - len(done.tags_in_use)} local image tags "
        f"({len(done.tags_in_use)} still used by containers), "
        f"{len(done.build_dirs)} build dirs, {len(done.source_caches)} source caches, "
        f"{len(done.networks) - len(done.networks_in_use)} networks "
        f"({len(done.networks_in_use)} still used by containers); "
        f"build cache: {done.cache}. The blobs of removed "
        "manifests are freed when `dockyard up` next starts its local registry.",
        markup=False,
        soft_wrap=True,
    )


def registry_htpasswd(
    path: Annotated[Path, typer.Argument(help="the file to write (0600)")],
) -> None:
    """Write the htpasswd file (bcrypt) that lets dockyard's login, DOCKYARD_REGISTRY_USERNAME
    and DOCKYARD_REGISTRY_PASSWORD, into a registry with distribution's htpasswd auth."""
    settings = load_settings()
    login = registry_login(settings)
    if login is None or settings.registry_username is None:
        raise DockyardError("set DOCKYARD_REGISTRY_USERNAME and DOCKYARD_REGISTRY_PASSWORD")
    write_htpasswd(path, login)
    err.print(f"wrote {path} for {login.username}", markup=False)
