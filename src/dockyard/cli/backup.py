"""`dockyard backup PATH`, `dockyard restore PATH` and `dockyard migrate-data --to URL`, on the
server's host."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from sqlalchemy import make_url

from dockyard.backup.service import backup as write_backup
from dockyard.backup.service import restore_archive
from dockyard.backup.transfer import migrate_data as copy_rows
from dockyard.backup.transfer import postgres_url
from dockyard.cli.output import err, out
from dockyard.config import load_settings
from dockyard.errors import DockyardError


def backup(
    path: Annotated[Path, typer.Argument(help="the archive to write (tar.gz, mode 0600)")],
    include_configured_key: Annotated[
        bool,
        typer.Option(help="put DOCKYARD_SECRET_KEY into the archive too (when it is set)"),
    ] = False,
) -> None:
    """Back up the database (a consistent snapshot, while builds and runs go on), the key ring
    and the local registry's storage (for an external registry: the image digests of
    successful builds, to verify after restore) into one archive. It holds the key ring:
    keep it like a secret."""
    settings = load_settings()
    for line in write_backup(settings, path, include_configured_key=include_configured_key):
        out.print(line, markup=False, soft_wrap=True)


def restore(
    path: Annotated[Path, typer.Argument(help="an archive written by `dockyard backup`")],
) -> None:
    """Restore an archive into an empty data dir and database, after checking its checksums
    and that its schema is not newer than this dockyard (`dockyard migrate` brings an older
    one up)."""
    settings = load_settings()
    done = restore_archive(settings, path)
    for line in done.lines:
        out.print(line, markup=False, soft_wrap=True)
    if done.missing_images:
        for image in done.missing_images:
            err.print(f"  missing: {image}", markup=False, soft_wrap=True)
        raise DockyardError(
            f"{len(done.missing_images)} images of successful builds do not answer at "
            f"{settings.registry}: restore that registry too"
        )


def migrate_data(
    to: Annotated[
        str,
        typer.Option(
            "--to", help="the empty PostgreSQL database (postgresql+psycopg://user:pass@host/db)"
        ),
    ],
) -> None:
    """Copy every row of the SQLite database into an empty PostgreSQL database, migrated to
    this dockyard's schema first, in one transaction; then check and print each table's rows.
    Stop `dockyard up`, `api` and `worker` first: what they write afterwards is not copied.
    Secrets stay sealed with the same key: then set DOCKYARD_DATABASE_URL to the new database."""
    settings = load_settings()
    copied = copy_rows(settings, to)
    for done in copied:
        out.print(f"{done.table}: {done.rows} rows", markup=False)
    shown = make_url(postgres_url(to)).render_as_string()
    out.print(
        f"copied {sum(done.rows for done in copied)} rows of {len(copied)} tables into {shown}; "
        f"start dockyard with DOCKYARD_DATABASE_URL={shown} (and the same key)",
        markup=False,
        soft_wrap=True,
    )
