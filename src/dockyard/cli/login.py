"""`dockyard login | logout | context list|use`: the servers this CLI talks to."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.table import Table

from dockyard.cli import contexts
from dockyard.cli.output import err, out
from dockyard.client import ApiError, DockyardClient
from dockyard.errors import DockyardError

context_app = typer.Typer(help="The saved contexts (server, token, project).", no_args_is_help=True)
ContextName = Annotated[str, typer.Option("--context", "-c", help="name of the context")]


def login(
    url: Annotated[str, typer.Option(help="the server, e.g. http://127.0.0.1:8088")],
    token: Annotated[
        str, typer.Option(prompt=True, hide_input=True, envvar="DOCKYARD_TOKEN", help="API token")
    ],
    name: ContextName = "default",
    project: Annotated[
        str | None, typer.Option("--project", "-p", help="default project of this context")
    ] = None,
) -> None:
    """Check the token against the server and save it as a context (the current one)."""
    _check(url, token)
    config = contexts.load()
    config.contexts[name] = contexts.Context(url=url.rstrip("/"), token=token, project=project)
    config.current = name
    path = contexts.save(config)
    out.print(f"logged in to {url} as context {name!r} (saved in {path})", soft_wrap=True)


def _check(url: str, token: str) -> None:
    """401 means a bad token; a 403 only means this token cannot list projects."""
    with DockyardClient(url, token) as api:
        try:
            api.request("GET", "/v1/projects", params={"per_page": 1})
        except ApiError as exc:
            if exc.status != 403:
                raise
            err.print("[yellow]note:[/] this token cannot list projects")


def logout(name: ContextName = "default") -> None:
    """Forget a context and its token."""
    config = contexts.load()
    if config.contexts.pop(name, None) is None:
        raise DockyardError(f"no context named {name!r}")
    if config.current == name:
        config.current = next(iter(config.contexts), None)
    contexts.save(config)
    out.print(f"forgot context {name!r}")


@context_app.command("list")
def list_contexts() -> None:
    """The saved contexts; * marks the current one."""
    config = contexts.load()
    table = Table("", "name", "url", "project", box=None, header_style="bold")
    for name, context in sorted(config.contexts.items()):
        table.add_row(
            "*" if name == config.current else "", name, context.url, context.project or "-"
        )
    out.print(table)


@context_app.command("use")
def use_context(name: Annotated[str, typer.Argument(help="name of the context")]) -> None:
    """Make a saved context the current one."""
    config = contexts.load()
    if name not in config.contexts:
        raise DockyardError(f"no context named {name!r}")
    config.current = name
    contexts.save(config)
    out.print(f"using context {name!r}")
