"""`dockyard token create|list|revoke`: API tokens, administered on the server's host."""

from __future__ import annotations

import asyncio
import json
import re
from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta
from typing import Annotated, TypeVar

import typer
from rich.console import Console
from rich.table import Table
from sqlalchemy.ext.asyncio import AsyncSession

from dockyard.auth import service
from dockyard.auth.permissions import Permission
from dockyard.config import load_settings
from dockyard.db.base import utcnow
from dockyard.db.session import run_in_session
from dockyard.migrations import prepare_storage
from dockyard.wire.models import iso_utc

app = typer.Typer(help="Create, list and revoke API tokens.", no_args_is_help=True)
err = Console(stderr=True)
T = TypeVar("T")

DURATION = re.compile(r"^(\d+)([mhdw])$")
UNIT_SECONDS = {"m": 60, "h": 3600, "d": 86400, "w": 604800}


def _with_session(work: Callable[[AsyncSession], Awaitable[T]]) -> T:
    settings = load_settings()
    prepare_storage(settings)

    return asyncio.run(run_in_session(settings.resolved_database_url, work))


def parse_expiry(value: str | None) -> datetime | None:
    if value is None:
        return None
    match = DURATION.match(value)
    if not match:
        raise typer.BadParameter(
            "use a number and a unit: 30m, 12h, 90d, 2w", param_hint="--expires"
        )
    return utcnow() + timedelta(seconds=int(match[1]) * UNIT_SECONDS[match[2]])


@app.command()
def create(
    name: Annotated[str, typer.Option(help="a name to recognise the token by")],
    permission: Annotated[
        list[str] | None, typer.Option(help="a permission string; repeat for several")
    ] = None,
    project: Annotated[
        list[str] | None, typer.Option(help="limit the token to this project id; repeatable")
    ] = None,
    expires: Annotated[str | None, typer.Option(help="lifetime, e.g. 90d")] = None,
    admin: Annotated[bool, typer.Option(help="grant every permission")] = False,
) -> None:
    """Create a token and print it alone on stdout (it is not shown again)."""
    permissions = permission or []
    known = {p.value for p in Permission}
    for value in permissions:
        if value not in known:
            raise typer.BadParameter(f"unknown permission {value!r}", param_hint="--permission")
    if not permissions and not admin:
        raise typer.BadParameter("give --permission at least once, or --admin")
    expires_at = parse_expiry(expires)
    secret = _with_session(
        lambda session: service.issue_token(
            session,
            name=name,
            permissions=permissions,
            project_ids=project,
            expires_at=expires_at,
            is_admin=admin,
        )
    )
    print(secret)


@app.command("list")
def list_tokens(
    as_json: Annotated[bool, typer.Option("--json", help="machine-readable output")] = False,
) -> None:
    """List tokens (never their secrets)."""
    tokens = _with_session(service.list_tokens)
    rows = [
        {
            "id": token.uid,
            "name": token.name,
            "admin": token.is_admin,
            "permissions": token.permissions,
            "projects": token.project_ids,
            "expiresAt": iso_utc(token.expires_at) if token.expires_at else None,
            "revoked": token.revoked_at is not None,
            "createdAt": iso_utc(token.created_at),
        }
        for token in tokens
    ]
    if as_json:
        print(json.dumps(rows, indent=2))
        return
    table = Table("id", "name", "admin", "permissions", "projects", "expires", "revoked")
    for row in rows:
        table.add_row(
            str(row["id"]),
            str(row["name"]),
            "yes" if row["admin"] else "",
            "\n".join(row["permissions"]),  # type: ignore[arg-type]
            ", ".join(row["projects"] or ["all"]),  # type: ignore[arg-type]
            str(row["expiresAt"] or "never"),
            "yes" if row["revoked"] else "",
        )
    Console().print(table)


@app.command()
def revoke(
    name: Annotated[str, typer.Argument(help="id or name of the token to revoke")],
    every: Annotated[
        bool, typer.Option("--all", help="revoke every active token with this name")
    ] = False,
) -> None:
    """Revoke the active token with this id or name (several of one name only with --all)."""
    count = _with_session(lambda session: service.revoke_tokens(session, name, every=every))
    err.print(f"revoked {count} token(s) named {name!r}")
