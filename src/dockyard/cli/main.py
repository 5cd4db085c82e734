"""The `dockyard` command: serve (up, api, worker) and administer (token, secrets)."""

from __future__ import annotations

import sys

import typer
from rich.console import Console

from dockyard.cli import secrets, serve, tokens
from dockyard.errors import DockyardError

app = typer.Typer(
    name="dockyard",
    help="Self-hosted builds and jobs behind the Northflank API.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)
app.command("up")(serve.up)
app.command("api")(serve.api)
app.command("worker")(serve.worker)
app.add_typer(tokens.app, name="token")
app.add_typer(secrets.app, name="secrets")


def main() -> None:
    """Entry point: dockyard's own errors are one line on stderr, not a traceback."""
    try:
        app(prog_name="dockyard")
    except DockyardError as exc:
        Console(stderr=True).print(f"[red]error:[/] {exc.message}", highlight=False)
        sys.exit(1)
