"""The `dockyard` command: serve (up, api, worker), administer (token, secrets), and use a
server from anywhere (login, projects, jobs, services, webhook secrets, VCS links, registry
credentials, builds, runs, logs)."""

from __future__ import annotations

from typing import Annotated, Any

import httpx
import typer
from typer.core import TyperGroup
from websockets.exceptions import InvalidHandshake, InvalidURI

from dockyard import __version__
from dockyard.cli import (
    activity,
    backup,
    integrations,
    login,
    maintenance,
    resources,
    secrets,
    serve,
    settings,
    tokens,
)
from dockyard.cli.output import err
from dockyard.cli.remote import Remote
from dockyard.client import ApiError
from dockyard.errors import DockyardError


class ReportsErrors(TyperGroup):
    """Errors end a command as a message on stderr and exit code 1: the server's message and
    the field paths it named, not a traceback."""

    def invoke(self, ctx: Any) -> Any:  # typer keeps its click Context type private
        try:
            return super().invoke(ctx)
        except ApiError as exc:
            _report(f"{exc.message} (HTTP {exc.status})")
            if exc.status == 400:
                for path, message in exc.field_messages():
                    err.print(f"  {path}: {message}", markup=False, soft_wrap=True)
        except DockyardError as exc:
            _report(exc.message)
        except (httpx.TransportError, InvalidHandshake, InvalidURI, OSError) as exc:
            _report(f"cannot reach the server: {exc}")
        raise typer.Exit(code=1)


def _report(message: str) -> None:
    err.print("[red]error:[/] ", end="")
    err.print(message, markup=False, soft_wrap=True)


app = typer.Typer(
    name="dockyard",
    cls=ReportsErrors,
    help="Self-hosted builds and jobs behind the Northflank API.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)


def _print_version(asked: bool) -> None:
    if asked:
        print(f"dockyard {__version__}")
        raise typer.Exit()


@app.callback()
def root(
    ctx: typer.Context,
    context: Annotated[
        str | None,
        typer.Option(
            "--context", envvar="DOCKYARD_CONTEXT", help="the saved context to use (see login)"
        ),
    ] = None,
    version: Annotated[
        bool,
        typer.Option("--version", callback=_print_version, is_eager=True, help="print the version"),
    ] = False,
) -> None:
    """Self-hosted builds and jobs behind the Northflank API."""
    remote = Remote(context)
    ctx.obj = remote
    ctx.call_on_close(remote.close)


app.command("up", rich_help_panel="Serve")(serve.up)
app.command("api", rich_help_panel="Serve")(serve.api)
app.command("worker", rich_help_panel="Serve")(serve.worker)
app.add_typer(tokens.app, name="token", rich_help_panel="Administer")
app.add_typer(secrets.app, name="secrets", rich_help_panel="Administer")
app.command("config", rich_help_panel="Administer")(settings.config)
app.command("migrate", rich_help_panel="Administer")(maintenance.migrate)
app.command("gc", rich_help_panel="Administer")(maintenance.gc)
app.command("backup", rich_help_panel="Administer")(backup.backup)
app.command("restore", rich_help_panel="Administer")(backup.restore)
app.command("migrate-data", rich_help_panel="Administer")(backup.migrate_data)
app.command("registry-htpasswd", rich_help_panel="Administer")(maintenance.registry_htpasswd)
app.command("login", rich_help_panel="Use a server")(login.login)
app.command("logout", rich_help_panel="Use a server")(login.logout)
app.add_typer(login.context_app, name="context", rich_help_panel="Use a server")
app.add_typer(resources.projects, name="projects", rich_help_panel="Use a server")
app.add_typer(resources.jobs, name="jobs", rich_help_panel="Use a server")
app.add_typer(resources.services, name="services", rich_help_panel="Use a server")
app.add_typer(resources.webhook_secrets, name="webhook-secrets", rich_help_panel="Use a server")
app.add_typer(integrations.vcs, name="vcs", rich_help_panel="Use a server")
app.add_typer(integrations.registries, name="registries", rich_help_panel="Use a server")
app.add_typer(activity.builds, name="builds", rich_help_panel="Use a server")
app.add_typer(activity.builds, name="build", hidden=True)
app.add_typer(activity.runs, name="runs", rich_help_panel="Use a server")
app.add_typer(activity.runs, name="run", hidden=True)
app.command("logs", rich_help_panel="Use a server")(activity.logs)


def main() -> None:
    app(prog_name="dockyard")
