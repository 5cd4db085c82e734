"""`dockyard vcs list|add|rotate|rotate-key|host-key|delete`, `dockyard vcs servers
list|add|delete` and `dockyard registries list|add|update|delete`: the account's VCS links
(token and ssh ones), self-hosted VCS records and registry credentials, over the API.

A token or password never comes from an argument (argv shows in process lists): it is read
from `--token-file` / `--password-file`, else from stdin when stdin is not a terminal
(`< token.txt`, a pipe), else from a prompt that does not echo. No command prints one: the
server's replies hold none. An ssh link's public key is no secret: `vcs add --ssh` and
`vcs rotate-key` print it alone on stdout (`> deploy-key.pub`), their hint on stderr."""

from __future__ import annotations

import base64
import binascii
import hashlib
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Annotated, Any

import typer

from dockyard.cli.output import err, out, print_json, show_list, show_one
from dockyard.cli.remote import JsonOption, Yes, confirm_delete, remote_of
from dockyard.client import DockyardClient
from dockyard.client.models import Resource, VcsLink

vcs = typer.Typer(
    help="VCS links (a login and token, or an ssh deploy key, on a git server, for private "
    "repositories): list, add, rotate, rotate-key, host-key, delete; and servers.",
    no_args_is_help=True,
)
servers = typer.Typer(
    help="Self-hosted VCS records (a git server of the team's own, that token links name): "
    "list, add, delete.",
    no_args_is_help=True,
)
vcs.add_typer(servers, name="servers")
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


HostKeyOption = Annotated[
    str | None,
    typer.Option("--host-key", help="the ssh server's public host key to pin (an OpenSSH line)"),
]
HostKeyFile = Annotated[
    Path | None,
    typer.Option(
        exists=True,
        dir_okay=False,
        help="read the host key to pin from this file (`ssh-keyscan` output, a known_hosts "
        "line or the server's .pub file)",
    ),
]


def fingerprint(public_key: str) -> str:
    """`SHA256:...` of an OpenSSH public key line, as `ssh-keygen -lf` prints it."""
    try:
        blob = base64.b64decode(public_key.split()[1], validate=True)
    except (IndexError, binascii.Error):
        return public_key
    return "SHA256:" + base64.b64encode(hashlib.sha256(blob).digest()).decode().rstrip("=")


LINK_COLUMNS = ["name", "vcsLinkId", "kind", "vcsUrl", "login", "key"]


@vcs.command("list")
def list_links(
    ctx: typer.Context,
    as_json: JsonOption = False,
    public_keys: Annotated[
        bool, typer.Option("--public-keys", help="an ssh link's public key, not its fingerprint")
    ] = False,
) -> None:
    """The VCS links (never their tokens): each one's kind and, for an ssh link, its deploy
    key's fingerprint (or public key)."""
    links = remote_of(ctx).client.list_vcs_links()
    if as_json:
        show_list(links, LINK_COLUMNS, as_json)
        return
    shown = [link.model_copy(update={"key": _key_cell(link, public_keys)}) for link in links]
    show_list(shown, LINK_COLUMNS, as_json)


def _key_cell(link: VcsLink, public_keys: bool) -> str | None:
    if link.public_key is None:
        return None
    return link.public_key if public_keys else fingerprint(link.public_key)


def read_host_key(host_key: str | None, file: Path | None) -> str | None:
    """The host key given inline or in `file` (its first key line), else None."""
    if host_key is not None and file is not None:
        raise typer.BadParameter("give --host-key or --host-key-file, not both")
    if file is None:
        return host_key
    lines = [line for line in file.read_text().splitlines() if line.strip()]
    keys = [line for line in lines if not line.lstrip().startswith("#")]
    if not keys:
        raise typer.BadParameter(f"{file} holds no host key")
    return keys[0].strip()


def show_public_key(link: VcsLink, as_json: bool) -> None:
    """An ssh link's public key alone on stdout (or the whole link with --json) and, on
    stderr, where to add it."""
    if as_json:
        print_json(link.raw())
    else:
        out.out(link.public_key or "", highlight=False)
    err.print(
        f"Add this public key as a read-only deploy key of the repositories on {link.vcs_url} "
        f"(VCS link {link.id or link.name}, ssh user {link.login}).",
        markup=False,
    )


@vcs.command("add")
def add_link(
    ctx: typer.Context,
    name: Name,
    login: Annotated[
        str | None,
        typer.Option(help="the account's login, the user git sends (ssh links: default git)"),
    ] = None,
    service: Annotated[
        str, typer.Option(help="github, gitlab, bitbucket or self-hosted")
    ] = "self-hosted",
    url: Annotated[
        str | None,
        typer.Option(
            help="the git server's base URL (default: the hosted service's); an ssh link's "
            "is ssh://host[:port][/path] or host:"
        ),
    ] = None,
    vcs_type: Annotated[
        str | None,
        typer.Option("--type", help="a self-hosted server's kind: gitea, gitlab-ee, github-ghe"),
    ] = None,
    server: Annotated[
        str | None,
        typer.Option(
            "--server",
            help="a self-hosted VCS record's id (see `dockyard vcs servers list`): a token "
            "link of its server, its URL and kind",
        ),
    ] = None,
    ssh: Annotated[
        bool,
        typer.Option(
            "--ssh", help="an ssh link: dockyard makes its deploy key and prints the public key"
        ),
    ] = False,
    host_key: HostKeyOption = None,
    host_key_file: HostKeyFile = None,
    token_file: TokenFile = None,
    as_json: JsonOption = False,
) -> None:
    """Add a token link (its token read from --token-file, stdin or a prompt) or, with --ssh,
    an ssh link; jobs and build services of every project fetch the repositories of its
    server through it."""
    pinned = read_host_key(host_key, host_key_file)
    if not ssh and pinned is not None:
        raise typer.BadParameter("--host-key and --host-key-file are for ssh links (--ssh)")
    if ssh and (token_file is not None or server is not None):
        raise typer.BadParameter("an ssh link has no token and names no --server: give --url")
    if login is None and not ssh:
        raise typer.BadParameter("give --login, the user git authenticates as")
    body = {
        "name": name,
        "vcsService": service,
        "vcsType": vcs_type,
        "vcsUrl": url,
        "login": login or "git",
        "selfHostedVcsId": server,
    }
    if ssh:
        body |= {"kind": "ssh", "hostKey": pinned}
    else:
        body["token"] = read_secret("token", token_file)
    created = remote_of(ctx).client.create_vcs_link(_given(body))
    if ssh:
        show_public_key(created, as_json)
    else:
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


@vcs.command("rotate-key")
def rotate_key(ctx: typer.Context, link: LinkArgument, as_json: JsonOption = False) -> None:
    """Make the ssh link a new deploy key and print its public key (the old one fetches until
    the server drops it)."""
    show_public_key(remote_of(ctx).client.rotate_vcs_link_key(link), as_json)


@vcs.command("host-key")
def pin_host_key(
    ctx: typer.Context,
    link: LinkArgument,
    host_key: HostKeyOption = None,
    host_key_file: HostKeyFile = None,
    clear: Annotated[
        bool, typer.Option("--clear", help="unpin: the next fetch records the server's key")
    ] = False,
    as_json: JsonOption = False,
) -> None:
    """Pin the ssh server's host key anew (after it was changed on purpose), or --clear it."""
    pinned = read_host_key(host_key, host_key_file)
    if clear == (pinned is not None):
        raise typer.BadParameter("give one of --host-key, --host-key-file or --clear")
    show_one(remote_of(ctx).client.pin_vcs_link_host_key(link, pinned), as_json)


@vcs.command("delete")
def delete_link(ctx: typer.Context, link: LinkArgument, yes: Yes = False) -> None:
    """Delete a link; refused (409) while a job or build service names it by vcsLinkId."""
    confirm_delete(f"VCS link {link}", yes)
    remote_of(ctx).client.delete_vcs_link(link)
    out.print(f"deleted VCS link {link}", markup=False)


# ---- self-hosted VCS records ----------------------------------------------------------------

ServerArgument = Annotated[str, typer.Argument(help="the record's id or selfHostedVcsId")]

add_list_command(
    servers,
    "The self-hosted VCS records.",
    DockyardClient.list_self_hosted_vcs,
    ["name", "id", "selfHostedVcsId", "vcsType", "vcsUrl", "createdAt"],
)


@servers.command("add")
def add_server(
    ctx: typer.Context,
    name: Name,
    url: Annotated[str, typer.Option(help="the git server's base URL, https://host[:port]")],
    vcs_type: Annotated[
        str | None, typer.Option("--type", help="its kind: gitea, gitlab-ee, github-ghe")
    ] = None,
    as_json: JsonOption = False,
) -> None:
    """Add a git server of the team's own; `dockyard vcs add --server ID` makes a token link
    of it."""
    show_one(remote_of(ctx).client.add_self_hosted_vcs(name, url, vcs_type), as_json)


@servers.command("delete")
def delete_server(ctx: typer.Context, server: ServerArgument, yes: Yes = False) -> None:
    """Delete a record; refused (409) while links or jobs and build services name it."""
    confirm_delete(f"self-hosted VCS {server}", yes)
    remote_of(ctx).client.delete_self_hosted_vcs(server)
    out.print(f"deleted self-hosted VCS {server}", markup=False)


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
