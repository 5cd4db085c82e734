"""`dockyard secrets rotate-key | reseal`: the key secrets are sealed with at rest."""

from __future__ import annotations

import asyncio
from typing import Annotated

import typer
from rich.console import Console

from dockyard.config import Settings, load_settings
from dockyard.db.session import run_in_session
from dockyard.errors import DockyardError
from dockyard.migrations import prepare_storage
from dockyard.rotation.service import Resealed, key_ids_in_use, reseal_all
from dockyard.secrets.crypto import (
    KEY_FILE,
    SecretBox,
    decode_key,
    key_id,
    keys_of,
    new_key_text,
    write_key_file,
)

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


@app.command("rotate-key")
def rotate_key(
    retire: Annotated[
        bool, typer.Option(help="then drop the old keys no sealed value uses any more")
    ] = False,
) -> None:
    """Make a new key the sealing key (old ones stay to open), re-seal every secret with it."""
    settings = load_settings()
    prepare_storage(settings)
    if settings.secret_key:
        raise DockyardError(
            "The key comes from DOCKYARD_SECRET_KEY: set it to 'NEW,OLD' (the new key first), "
            "run `dockyard secrets reseal`, then leave only NEW"
        )
    path = settings.data_dir / KEY_FILE
    keys = [decode_key(new_key_text()), *keys_of(settings)]
    write_key_file(path, keys)
    box = SecretBox(keys)
    _report(
        asyncio.run(run_in_session(settings.resolved_database_url, lambda s: reseal_all(s, box)))
    )
    out.print(f"sealing key is now {key_id(keys[0])}")
    if retire:
        used = asyncio.run(run_in_session(settings.resolved_database_url, key_ids_in_use))
        kept = [key for key in keys if key is keys[0] or key_id(key) in used]
        write_key_file(path, kept)
        out.print(f"retired {len(keys) - len(kept)} old key(s)")


@app.command("reseal")
def reseal() -> None:
    """Re-seal every secret with the first configured key (after changing DOCKYARD_SECRET_KEY)."""
    settings = load_settings()
    prepare_storage(settings)
    box = SecretBox.from_settings(settings)
    _report(
        asyncio.run(run_in_session(settings.resolved_database_url, lambda s: reseal_all(s, box)))
    )
