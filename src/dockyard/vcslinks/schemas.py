"""Wire models of VCS links: the official clients' list and branch shapes
(`GET /v1/integrations/vcs`, `.../repos/{vcsService}/{owner}/{name}/branches`) and dockyard's
create, token rotation and host key bodies; the ssh URL forms links and repositories are
compared by."""

from __future__ import annotations

import binascii
import re
from typing import Annotated, Any, Literal
from urllib.parse import unquote, urlsplit

from cryptography.hazmat.primitives.serialization import load_ssh_public_key
from pydantic import AfterValidator, Field, model_validator

from dockyard.vcs.schemas import VcsType, http_base_url
from dockyard.vcslinks.selfhosted_schemas import SelfHostedVcsRef, refuse_server_fields
from dockyard.wire.models import RequestModel, Timestamp, WireModel

VcsService = Literal["github", "gitlab", "bitbucket", "self-hosted"]
LinkKind = Literal["token", "ssh"]
# Where the hosted services keep their repositories when a link names no vcsUrl.
HOSTED_URLS: dict[str, str] = {
    "github": "https://github.com",
    "gitlab": "https://gitlab.com",
    "bitbucket": "https://bitbucket.org",
}
SSH_HOSTED_URLS: dict[str, str] = {
    service: url.replace("https://", "ssh://") for service, url in HOSTED_URLS.items()
}
# git's scp-like ssh syntax, `[user@]host:path` (no `/` before the `:`, no scheme).
SCP_LIKE = re.compile(
    r"(?:(?P<user>[^@/:]+)@)?(?P<host>\[[^\]/]+\]|[^:/\[@]+):(?P<path>.*)", re.DOTALL
)
HOST_KEY_TYPES = (
    "ssh-ed25519",
    "ecdsa-sha2-nistp256",
    "ecdsa-sha2-nistp384",
    "ecdsa-sha2-nistp521",
    "ssh-rsa",
)


def ssh_parts(url: str) -> tuple[str | None, str, int, str] | None:
    """The user, host (lower case), port and path (without a leading `/`) of an ssh URL,
    `ssh://[user@]host[:port][/path]` or `[user@]host:path`; None for any other URL."""
    if url.lower().startswith("ssh://"):
        try:
            parts = urlsplit(url)
            port = parts.port or 22
        except ValueError:
            return None
        if not parts.hostname:
            return None
        user = unquote(parts.username) if parts.username else None
        return user, parts.hostname.lower(), port, parts.path.lstrip("/")
    if "://" in url or (found := SCP_LIKE.fullmatch(url)) is None:
        return None
    host = found["host"].strip("[]").lower()
    return found["user"], host, 22, found["path"].lstrip("/")


def _ssh_url(url: str) -> str:
    """`ssh://host[:port][/path]` or `host:[path]`, the host in lower case, no trailing `/`;
    the user is the link's login, not part of its URL."""
    found = ssh_parts(url)
    if found is None or any(char in url for char in "\\?#") or url.startswith("-"):
        raise ValueError("an ssh://host[:port] URL or an scp-like host: base")
    user, host, port, path = found
    if user is not None:
        raise ValueError("a base URL without a user: the ssh user is the link's login")
    host = f"[{host}]" if ":" in host else host
    if url.lower().startswith("ssh://"):
        return f"ssh://{host}{f':{port}' if port != 22 else ''}/{path}".rstrip("/")
    return f"{host}:{path}".rstrip("/")


def _base_url(url: str) -> str:
    """An http(s) base URL with a host, no userinfo, query or fragment (a token link's), or
    an ssh one (an ssh link's); kept without the trailing `/`, scheme and host in lower
    case."""
    if url.lower().startswith("http"):
        return http_base_url(url)
    if ssh_parts(url) is not None:
        return _ssh_url(url)
    raise ValueError("an http:// or https:// URL with a host, or an ssh one")


def _host_key(line: str) -> str:
    """An OpenSSH public host key line (a known_hosts line or a `.pub` file's), kept as
    `type base64`."""
    words = line.split()
    at = next((index for index, word in enumerate(words) if word in HOST_KEY_TYPES), None)
    if at is None or at + 1 >= len(words):
        raise ValueError(f"an OpenSSH public host key: one of {', '.join(HOST_KEY_TYPES)}")
    key = f"{words[at]} {words[at + 1]}"
    try:
        load_ssh_public_key(key.encode())
    except (ValueError, binascii.Error, TypeError):
        raise ValueError("an OpenSSH public host key whose base64 part is a key") from None
    return key


VcsUrl = Annotated[
    str,
    Field(
        min_length=4,
        max_length=500,
        description="Base URL of the git server: https://host for a token link, "
        "ssh://host[:port] or host: for an ssh link.",
    ),
    AfterValidator(_base_url),
]
HostKey = Annotated[
    str,
    Field(
        min_length=16,
        max_length=4000,
        pattern=r"^[^\x00-\x1f\x7f]+$",
        description="The ssh server's public host key (OpenSSH format) to pin; without it the "
        "first fetch records the server's.",
    ),
    AfterValidator(_host_key),
]
# A login and a token go to git's credential protocol line by line: no control characters;
# a login is HTTP basic auth's user, so no `:` either.
Login = Annotated[
    str,
    Field(
        min_length=1,
        max_length=100,
        pattern=r"^[^\x00-\x20\x7f:]+$",
        description="The account's login: the user name git authenticates as.",
    ),
]
Token = Annotated[
    str,
    Field(
        min_length=1,
        max_length=1000,
        pattern=r"^[^\x00-\x1f\x7f]+$",
        description="The account's access token (personal, app or deploy token). Never shown.",
    ),
]
LinkName = Annotated[
    str,
    Field(
        min_length=1,
        max_length=64,
        pattern=r"^[A-Za-z0-9][A-Za-z0-9 -]*$",
        description="Name of the link; its id is the name in lower case, spaces as dashes.",
    ),
]


class VcsLinkCreate(RequestModel):
    """A token link (`kind` "token": HTTPS, `login` and `token`) or an ssh link (`kind`
    "ssh": `login` is the ssh user, dockyard makes the deploy key; `hostKey` pins the
    server's). `vcsUrl` defaults to the hosted service's (github.com, gitlab.com,
    bitbucket.org); a self-hosted server needs it."""

    name: LinkName
    vcs_service: VcsService
    vcs_type: VcsType | None = None
    vcs_url: VcsUrl | None = None
    login: Login
    token: Token | None = None
    host_key: HostKey | None = None
    kind: LinkKind = "token"
    self_hosted_vcs_id: SelfHostedVcsRef | None = None

    @model_validator(mode="after")
    def _fits_its_kind(self) -> VcsLinkCreate:
        if self.self_hosted_vcs_id is not None:
            if self.kind == "ssh":
                raise ValueError("selfHostedVcsId is for token links: an ssh link names vcsUrl")
            refuse_server_fields(self.vcs_service, self.vcs_url, self.vcs_type)
        elif self.vcs_url is None and self.vcs_service not in HOSTED_URLS:
            raise ValueError("vcsUrl is required for a self-hosted git server")
        ssh_url = self.vcs_url is not None and ssh_parts(self.vcs_url) is not None
        if self.kind == "token":
            if self.token is None:
                raise ValueError("token is required for a token link")
            if self.host_key is not None or ssh_url:
                raise ValueError("a token link is an https one: hostKey and ssh URLs are for ssh")
        else:
            if self.token is not None:
                raise ValueError("an ssh link has no token: dockyard makes its deploy key")
            if self.vcs_url is not None and not ssh_url:
                raise ValueError("an ssh link's vcsUrl is ssh://host[:port] or host:")
        return self

    @property
    def base_url(self) -> str:
        hosted = SSH_HOSTED_URLS if self.kind == "ssh" else HOSTED_URLS
        return self.vcs_url or hosted[self.vcs_service]


class VcsLinkPatch(RequestModel):
    """A new token (rotation) and, optionally, the login it belongs to."""

    token: Token
    login: Login | None = None


class VcsHostKey(RequestModel):
    """The ssh server's host key to pin (after the server's key was changed on purpose), or
    null: the next fetch records the server's."""

    host_key: HostKey | None


class VcsLinkResponse(WireModel):
    id: str
    vcs_link_id: str
    name: str
    kind: LinkKind
    vcs_service: VcsService
    vcs_type: VcsType | None = None
    vcs_url: str
    login: str
    public_key: str | None = Field(
        None, description="An ssh link's public key (OpenSSH), to add as a deploy key."
    )
    host_key: str | None = Field(None, description="An ssh link's pinned server host key.")
    self_hosted_vcs_id: str | None = None
    created_at: Timestamp
    updated_at: Timestamp


class VcsLinkList(WireModel):
    links: list[VcsLinkResponse]


class VcsAccountLink(WireModel):
    """An entry of `GET /v1/integrations/vcs`, as the official clients read it."""

    vcs_link_id: str
    login: str
    name: str
    vcs_service: VcsService
    vcs_type: VcsType | None = None
    vcs_url: str


class VcsList(WireModel):
    vcs_account_links: list[VcsAccountLink]


class BranchCommit(WireModel):
    sha: str
    # git ls-remote knows the sha alone; the clients' type requires the key.
    author: dict[str, Any] = Field(default_factory=dict)


class Branch(WireModel):
    id: str
    name: str
    commit: BranchCommit


class BranchList(WireModel):
    branches: list[Branch]
