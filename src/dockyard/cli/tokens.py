"""`dockyard token create|list|revoke`: API tokens, on the server's host through its database,
or from anywhere through a server's `/v1/tokens` (given `--url` and `--token`, or a saved
context chosen with `--context`), under the same rules."""

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
from dockyard.cli.remote import remote_of
from dockyard.client import DockyardClient
from dockyard.config import load_settings
from dockyard.db.base import utcnow
from dockyard.db.session import run_in_session
from dockyard.migrations import open_storage
from dockyard.wire.models import iso_utc

app = typer.Typer(help="Create, list and revoke API tokens.", no_args_is_help=True)
err = Console(stderr=True)
T = TypeVar("T")

DURATION = re.compile(r"^(\d+)([mhdw])$")
UNIT_SECONDS = {"m": 60, "h": 3600, "d": 86400, "w": 604800}
ROW_KEYS = ("id", "name", "admin", "permissions", "projects", "expiresAt", "revoked", "createdAt")

UrlOption = Annotated[
    str | None,
    typer.Option(
        "--url",
        envvar="DOCKYARD_URL",
        help="a server's URL: work through its API (with --token), not the database here",
    ),
]
TokenOption = Annotated[
    str | None,
    typer.Option("--token", envvar="DOCKYARD_TOKEN", help="a token of that server, e.g. admin"),
]


def _with_session(work: Callable[[AsyncSession], Awaitable[T]]) -> T:
    settings = load_settings()
    open_storage(settings)

    return asyncio.run(run_in_session(settings.resolved_database_url, work))


def _server(ctx: typer.Context, url: str | None, token: str | None) -> DockyardClient | None:
    """The server to work through: `--url` with `--token`, else the context named by
    `--context` (or DOCKYARD_CONTEXT); None: this host's database."""
    if url or token:
        if not (url and token):
            raise typer.BadParameter("give both --url and --token, or neither")
        client = DockyardClient(url, token)
        ctx.call_on_close(client.close)
        return client
    remote = remote_of(ctx)
    return remote.client if remote.context_name else None


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
    ctx: typer.Context,
    name: Annotated[str, typer.Option(help="a name to recognise the token by")],
    permission: Annotated[
        list[str] | None, typer.Option(help="a permission string; repeat for several")
    ] = None,
    project: Annotated[
        list[str] | None, typer.Option(help="limit the token to this project id; repeatable")
    ] = None,
    expires: Annotated[str | None, typer.Option(help="lifetime, e.g. 90d")] = None,
    admin: Annotated[bool, typer.Option(help="grant every permission")] = False,
    url: UrlOption = None,
    token: TokenOption = None,
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
    if (server := _server(ctx, url, token)) is not None:
        body = {"name": name, "permissions": permissions, "admin": admin, "projects": project}
        body["expiresAt"] = iso_utc(expires_at) if expires_at else None
        made = server.create_token({key: value for key, value in body.items() if value})
        print(made.token)
        return
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
    ctx: typer.Context,
    as_json: Annotated[bool, typer.Option("--json", help="machine-readable output")] = False,
    url: UrlOption = None,
    token: TokenOption = None,
) -> None:
    """List tokens, revoked and expired ones too (never their secrets)."""
    if (server := _server(ctx, url, token)) is not None:
        listed = [found.raw() for found in server.list_tokens(include_inactive=True)]
    else:
        stored = _with_session(service.list_tokens)
        listed = [service.entry(found).model_dump(mode="json", by_alias=True) for found in stored]
    rows = [{key: row.get(key) for key in ROW_KEYS} for row in listed]
    if as_json:
        print(json.dumps(rows, indent=2))
        return
    table = Table("id", "name", "admin", "permissions", "projects", "expires", "revoked")
    for row in rows:
        table.add_row(
            str(row["id"]),
            str(row["name"]),
            "yes" if row["admin"] else "",
            "\n".join(row["permissions"] or []),
            ", ".join(row["projects"] or ["all"]),
            str(row["expiresAt"] or "never"),
            "yes" if row["revoked"] else "",
        )
    Console().print(table)


@app.command()
def revoke(
    ctx: typer.Context,
    name: Annotated[str, typer.Argument(help="id or name of the token to revoke")],
    every: Annotated[
        bool, typer.Option("--all", help="revoke every active token with this name")
    ] = False,
    url: UrlOption = None,
    token: TokenOption = None,
) -> None:
    """Revoke the active token with this id or name (several of one name only with --all)."""
    if (server := _server(ctx, url, token)) is not None:
        listed = server.list_tokens(include_inactive=True)
        chosen = service.tokens_to_revoke(listed, name, every=every)
        for found in chosen:
            server.revoke_token(found.id)
        count = len(chosen)
    else:
        count = _with_session(lambda session: service.revoke_tokens(session, name, every=every))
    err.print(f"revoked {count} token(s) named {name!r}")
