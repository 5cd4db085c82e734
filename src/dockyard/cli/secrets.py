"""`dockyard secrets rotate-key | retire | reseal`: the key secrets are sealed with at rest."""

from __future__ import annotations

import asyncio
import time
from dataclasses import replace
from datetime import datetime, timedelta
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from dockyard.config import Settings, load_settings
from dockyard.db.base import utcnow
from dockyard.db.session import run_in_session
from dockyard.errors import DockyardError
from dockyard.migrations import prepare_storage
from dockyard.rotation.service import Resealed, key_ids_in_use, reseal_all
from dockyard.secrets.crypto import (
    KEY_FILE,
    KeyRing,
    SecretBox,
    key_id,
    read_key_ring,
    rotated,
    write_key_file,
)
from dockyard.wire.models import iso_utc

app = typer.Typer(help="Rotate the key of secrets at rest.", no_args_is_help=True)
out = Console()


def _reseal(settings: Settings, box: SecretBox) -> None:
    done = asyncio.run(
        run_in_session(settings.resolved_database_url, lambda session: reseal_all(session, box))
    )
    _report(done)


def _report(done: Resealed) -> None:
    total = sum(done.counts.values())
    where = ", ".join(f"{table} {count}" for table, count in sorted(done.counts.items()))
    out.print(f"re-sealed {total} rows" + (f" ({where})" if where else ""))


def _key_file(settings: Settings) -> Path:
    if settings.secret_key:
        raise DockyardError(
            "The key comes from DOCKYARD_SECRET_KEY: set it to 'NEW,OLD' (the new key first), "
            "run `dockyard secrets reseal`, then leave only NEW"
        )
    return settings.data_dir / KEY_FILE


def _settled_at(settings: Settings, ring: KeyRing) -> datetime | None:
    """When old keys of the ring may go (None: now)."""
    if ring.rotated_at is None:
        return None
    return ring.rotated_at + timedelta(seconds=settings.key_settle_seconds)


def _retire(settings: Settings, path: Path) -> None:
    """Re-seal what was written with an old key since the rotation, then drop the old keys
    no sealed value uses."""
    ring = read_key_ring(path)
    _reseal(settings, SecretBox(ring.keys))
    used = asyncio.run(run_in_session(settings.resolved_database_url, key_ids_in_use))
    kept = [key for key in ring.keys if key is ring.keys[0] or key_id(key) in used]
    write_key_file(path, replace(ring, keys=kept))
    out.print(f"retired {len(ring.keys) - len(kept)} old key(s)")


@app.command("rotate-key")
def rotate_key(
    retire: Annotated[
        bool,
        typer.Option(
            help="then (after DOCKYARD_KEY_SETTLE_SECONDS) drop the old keys no value uses"
        ),
    ] = False,
) -> None:
    """Make a new key the sealing key (old ones stay to open), re-seal every secret with it."""
    settings = load_settings()
    prepare_storage(settings)
    path = _key_file(settings)
    ring = rotated(read_key_ring(path))
    write_key_file(path, ring)
    _reseal(settings, SecretBox(ring.keys))
    out.print(f"sealing key is now {key_id(ring.keys[0])} (generation {ring.generation})")
    if retire:
        settled = _settled_at(settings, ring)
        assert settled is not None
        wait = (settled - utcnow()).total_seconds()
        out.print(f"waiting {wait:.0f} s for writes sealed with the old key to land")
        time.sleep(max(wait, 0))
        _retire(settings, path)


@app.command("retire")
def retire_keys() -> None:
    """Drop the old keys no sealed value uses; refused until DOCKYARD_KEY_SETTLE_SECONDS after
    the last rotation, while a running process may still be writing a value sealed with one."""
    settings = load_settings()
    prepare_storage(settings)
    path = _key_file(settings)
    settled = _settled_at(settings, read_key_ring(path))
    if settled is not None and utcnow() < settled:
        raise DockyardError(
            f"The key was rotated less than {settings.key_settle_seconds:g} s ago: a running "
            f"process may still be writing a value sealed with the old key. Retire after "
            f"{iso_utc(settled)}"
        )
    _retire(settings, path)


@app.command("reseal")
def reseal() -> None:
    """Re-seal every secret with the first configured key (after changing DOCKYARD_SECRET_KEY)."""
    settings = load_settings()
    prepare_storage(settings)
    box = SecretBox.from_settings(settings)
    _report(
        asyncio.run(run_in_session(settings.resolved_database_url, lambda s: reseal_all(s, box)))
    )
