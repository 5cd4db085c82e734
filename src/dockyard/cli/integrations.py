"""`dockyard vcs list|add|rotate|delete` and `dockyard registries list|add|update|delete`: the
account's VCS links and registry credentials, over the API.

A token or password never comes from an argument (argv shows in process lists): it is read
from `--token-file` / `--password-file`, else from stdin when stdin is not a terminal
(`< token.txt`, a pipe), else from a prompt that does not echo. No command prints one: the
server's replies hold none."""

from __future__ import annotations

import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Annotated, Any

import typer

from dockyard.cli.output import out, show_list, show_one
from dockyard.cli.remote import JsonOption, Yes, confirm_delete, remote_of
from dockyard.client import DockyardClient
from dockyard.client.models import Resource

vcs = typer.Typer(
    help="VCS links (a login and token on a git server, for private repositories): "
    "list, add, rotate, delete.",
    no_args_is_help=True,
)
registries = typer.Typer(
    help="Registry credentials (a username and password for an image registry): "
    "list, add, update, delete.",
    no_args_is_help=True,
)


def secret_file_option(flag: str, what: str) -> Any:
    return typer.Option(
        flag,
        exists=True,
        dir_okay=False,
        help=f"read the {what} from this file (default: stdin, else a prompt without echo)",
    )


Name = Annotated[str, typer.Option(help="its name (its id is the name's slug)")]
TokenFile = Annotated[Path | None, secret_file_option("--token-file", "token")]
PasswordFile = Annotated[Path | None, secret_file_option("--password-file", "password")]


def read_secret(what: str, file: Path | None) -> str:
    """The secret in `file`, else on stdin when it is not a terminal, else typed at a prompt
    that does not echo; its line ending dropped."""
    if file is not None:
        text = file.read_text()
    elif not sys.stdin.isatty():
        text = sys.stdin.read()
    else:
        text = typer.prompt(what.capitalize(), hide_input=True)
    secret = text.rstrip("\r\n")
    if not secret:
        raise typer.BadParameter(f"the {what} is empty")
    return secret


def add_list_command(
    group: typer.Typer,
    doc: str,
    listing: Callable[[DockyardClient], Sequence[Resource]],
    columns: list[str],
) -> None:
    """`group list [--json]`: a table of `columns` of what `listing` answers."""

    def list_command(ctx: typer.Context, as_json: JsonOption = False) -> None:
        show_list(listing(remote_of(ctx).client), columns, as_json)

    list_command.__doc__ = doc
    group.command("list")(list_command)


# ---- VCS links ------------------------------------------------------------------------------

LinkArgument = Annotated[str, typer.Argument(help="the link's id (its name's slug) or vcsLinkId")]


add_list_command(
    vcs,
    "The VCS links (never their tokens).",
    DockyardClient.list_vcs_links,
    ["name", "vcsLinkId", "vcsService", "vcsUrl", "login"],
)


@vcs.command("add")
def add_link(
    ctx: typer.Context,
    name: Name,
    login: Annotated[str, typer.Option(help="the account's login, the user git sends")],
    service: Annotated[
        str, typer.Option(help="github, gitlab, bitbucket or self-hosted")
    ] = "self-hosted",
    url: Annotated[
        str | None,
        typer.Option(help="the git server's base URL (default: the hosted service's)"),
    ] = None,
    vcs_type: Annotated[
        str | None,
        typer.Option("--type", help="a self-hosted server's kind: gitea, gitlab-ee, github-ghe"),
    ] = None,
    token_file: TokenFile = None,
    as_json: JsonOption = False,
) -> None:
    """Add a token link; jobs and build services of every project fetch the repositories of
    its server through it."""
    body = {
        "name": name,
        "vcsService": service,
        "vcsType": vcs_type,
        "vcsUrl": url,
        "login": login,
        "token": read_secret("token", token_file),
    }
    created = remote_of(ctx).client.create_vcs_link(_given(body))
    show_one(created, as_json)


@vcs.command("rotate")
def rotate_link(
    ctx: typer.Context,
    link: LinkArgument,
    login: Annotated[
        str | None, typer.Option(help="the login the new token belongs to (default: kept)")
    ] = None,
    token_file: TokenFile = None,
    as_json: JsonOption = False,
) -> None:
    """Replace the link's token (and login)."""
    rotated = remote_of(ctx).client.rotate_vcs_link(link, read_secret("token", token_file), login)
    show_one(rotated, as_json)


@vcs.command("delete")
def delete_link(ctx: typer.Context, link: LinkArgument, yes: Yes = False) -> None:
    """Delete a link; refused (409) while a job or build service names it by vcsLinkId."""
    confirm_delete(f"VCS link {link}", yes)
    remote_of(ctx).client.delete_vcs_link(link)
    out.print(f"deleted VCS link {link}", markup=False)


def link_uid(client: DockyardClient, link: str) -> str:
    """The vcsLinkId of the link named `link` (its name, id or vcsLinkId)."""
    for found in client.list_vcs_links():
        if link in (found.vcs_link_id, found.name, _slug(found.name)):
            return found.vcs_link_id
    raise typer.BadParameter(f"no VCS link {link!r}: see `dockyard vcs list`")


def _slug(name: str) -> str:
    return "-".join(name.lower().replace("-", " ").split())


# ---- registry credentials -------------------------------------------------------------------

CredentialsArgument = Annotated[str, typer.Argument(help="the credentials' id")]
Username = Annotated[str, typer.Option("--username", "--login", help="the registry login")]


add_list_command(
    registries,
    "The registry credentials (never their passwords).",
    DockyardClient.list_registry_credentials,
    ["id", "name", "provider", "registryUrl", "createdAt"],
)


@registries.command("add")
def add_credentials(
    ctx: typer.Context,
    name: Name,
    username: Username,
    provider: Annotated[
        str, typer.Option(help="dockerhub, github (ghcr.io), gitlab or custom (with --url)")
    ] = "custom",
    url: Annotated[
        str | None, typer.Option(help="the registry, e.g. registry.example.com:5000")
    ] = None,
    push: Annotated[bool, typer.Option(help="the login may push as well as pull")] = False,
    project: Annotated[
        list[str] | None,
        typer.Option("--restrict-to", help="only this project's jobs and services; repeat"),
    ] = None,
    password_file: PasswordFile = None,
    as_json: JsonOption = False,
) -> None:
    """Add registry credentials; jobs and build services name them by id to pull and push."""
    body: dict[str, Any] = {
        "name": name,
        "provider": provider,
        "registryUrl": url,
        "credentials": {
            "username": username,
            "password": read_secret("password", password_file),
            "scope": {"pull": True, "push": push},
        },
    }
    if project:
        body["restrictions"] = {"restricted": True, "projects": project}
    show_one(remote_of(ctx).client.add_registry_credentials(_given(body)), as_json)


@registries.command("update")
def update_credentials(
    ctx: typer.Context,
    credentials: CredentialsArgument,
    username: Annotated[
        str | None, typer.Option("--username", "--login", help="a new registry login")
    ] = None,
    password_stdin: Annotated[
        bool, typer.Option("--password-stdin", help="read a new password from stdin")
    ] = False,
    password_file: Annotated[
        Path | None,
        typer.Option(exists=True, dir_okay=False, help="read a new password from this file"),
    ] = None,
    as_json: JsonOption = False,
) -> None:
    """Change the login and/or the password (the rest is kept)."""
    login: dict[str, Any] = {"username": username}
    if password_stdin or password_file is not None:
        login["password"] = read_secret("password", password_file)
    if not _given(login):
        raise typer.BadParameter("give --username, --password-stdin or --password-file")
    updated = remote_of(ctx).client.update_registry_credentials(
        credentials, {"credentials": _given(login)}
    )
    show_one(updated, as_json)


@registries.command("delete")
def delete_credentials(
    ctx: typer.Context, credentials: CredentialsArgument, yes: Yes = False
) -> None:
    """Delete credentials; refused (409) while a job or build service names them."""
    confirm_delete(f"registry credentials {credentials}", yes)
    remote_of(ctx).client.delete_registry_credentials(credentials)
    out.print(f"deleted registry credentials {credentials}", markup=False)


def _given(body: dict[str, Any]) -> dict[str, Any]:
    return {key: value for key, value in body.items() if value is not None}
