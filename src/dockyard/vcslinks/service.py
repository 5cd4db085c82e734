"""VCS link rules: a link is the team's account on a git server (`vcsUrl`), read by every
project. Its id is the slug of its name (unique), its `vcsLinkId` 24 hex digits; its token is
sealed at rest and never shown, logged or handed to git other than through git's credential
helper (engine/git.py).

An ssh link's deploy key is an ed25519 key pair dockyard makes (and makes anew on rotation):
the private key is sealed as a token is and handed to ssh only as a temporary file
(engine/git.py), the public key shown for the user to add as a deploy key. The server's host
key is pinned: the one given, else the one the first fetch finds (trust on first use), and a
server showing another is refused.

Which link fetches a repository: the one the source names by `vcsLinkId`, else the one whose
login is its `accountLogin`, else the one link whose `vcsUrl` hosts the repository (as the
source names it or as the server's insteadOf rewrites it) and can read it (asked with
`git ls-remote`); an `accountLogin` that no hosting link has passes to that last rule. None:
git goes without credentials, and a repository that needs them fails
with a message that names it. A link only ever sends its token to its own server: a source
naming a link of another server is refused."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from urllib.parse import urlsplit

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from dockyard.db.repository import Page, PageRequest, page_of_list
from dockyard.engine.base import Credentials, GitClient, GitCredentials, SshKey
from dockyard.engine.git import HostKeyRefused
from dockyard.errors import Conflict, DockyardError, GitError, Invalid, NotFound
from dockyard.jobs.service import JOBS
from dockyard.projects.service import new_uid, slugify
from dockyard.secrets.crypto import SecretBox
from dockyard.services.service import SERVICES
from dockyard.vcslinks import repository, selfhosted
from dockyard.vcslinks.models import VcsLink
from dockyard.vcslinks.schemas import (
    Branch,
    BranchCommit,
    VcsAccountLink,
    VcsHostKey,
    VcsLinkCreate,
    VcsLinkPatch,
    VcsLinkResponse,
    ssh_parts,
)


def secret_context(uid: str) -> str:
    return f"vcs-link:{uid}:secret"


def new_key_pair(link_id: str) -> tuple[bytes, str]:
    """An ed25519 key pair: the OpenSSH private key and the public key line, its comment
    naming the link (`dockyard:<id>`), as a deploy key's title shows it."""
    key = Ed25519PrivateKey.generate()
    private = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.OpenSSH,
        serialization.NoEncryption(),
    )
    public = key.public_key().public_bytes(
        serialization.Encoding.OpenSSH, serialization.PublicFormat.OpenSSH
    )
    return private, f"{public.decode()} dockyard:{link_id}"


# ---- the links ------------------------------------------------------------------------------


async def get_link(session: AsyncSession, link_id: str) -> VcsLink:
    """The link whose id or `vcsLinkId` is `link_id`; 404 when there is none."""
    link = await repository.get(session, link_id)
    if link is None:
        raise NotFound(f"VCS link {link_id!r} not found", {"linkId": link_id})
    return link


async def list_links(session: AsyncSession) -> Sequence[VcsLink]:
    return await repository.everywhere(session)


async def list_link_page(session: AsyncSession, request: PageRequest) -> Page[VcsLink]:
    return page_of_list(await repository.everywhere(session), request)


async def create_link(session: AsyncSession, box: SecretBox, body: VcsLinkCreate) -> VcsLink:
    """A new link; 409 when one of that name's id exists."""
    uid, link_id = new_uid(), slugify(body.name)
    vcs_url, vcs_type, server = await selfhosted.server_of(session, body)
    public_key = None
    if body.token is not None:
        secret = body.token.encode()
    else:
        secret, public_key = new_key_pair(link_id)
    link = VcsLink(
        id=link_id,
        uid=uid,
        name=body.name,
        kind=body.kind,
        vcs_service=body.vcs_service,
        vcs_type=vcs_type,
        vcs_url=vcs_url,
        self_hosted_vcs_id=server,
        login=body.login,
        sealed_secret=box.seal(secret, context=secret_context(uid)),
        public_key=public_key,
        host_key=body.host_key,
    )
    session.add(link)
    try:
        await session.commit()
    except IntegrityError:
        await session.rollback()
        raise Conflict(f"A VCS link with id {link.id!r} exists", {"name": body.name}) from None
    return link


async def rotate_token(
    session: AsyncSession, box: SecretBox, link_id: str, body: VcsLinkPatch
) -> VcsLink:
    """The link with its new token (and login, when given); 400 for an ssh link."""
    link = await get_link(session, link_id)
    if link.kind != "token":
        raise Invalid("token", "an ssh link has no token: rotate its key with .../rotate-key")
    link.sealed_secret = box.seal(body.token.encode(), context=secret_context(link.uid))
    if body.login is not None:
        link.login = body.login
    await session.commit()
    return link


async def rotate_key(session: AsyncSession, box: SecretBox, link_id: str) -> VcsLink:
    """The ssh link with a new key pair (the old key no longer fetches once the server drops
    it); 400 for a token link."""
    link = await _ssh_link(session, link_id)
    private, link.public_key = new_key_pair(link.id)
    link.sealed_secret = box.seal(private, context=secret_context(link.uid))
    await session.commit()
    return link


async def pin_host_key(session: AsyncSession, link_id: str, body: VcsHostKey) -> VcsLink:
    """The ssh link with the server's host key pinned anew (None: the next fetch records
    the server's); 400 for a token link."""
    link = await _ssh_link(session, link_id)
    link.host_key = body.host_key
    await session.commit()
    return link


async def _ssh_link(session: AsyncSession, link_id: str) -> VcsLink:
    link = await get_link(session, link_id)
    if link.kind != "ssh":
        raise Invalid("kind", f"VCS link {link.id!r} is a token link, not an ssh one")
    return link


async def users_of(session: AsyncSession, link: VcsLink) -> list[str]:
    """`job project/id` and `service project/id` of every target naming the link."""
    jobs = await JOBS.naming_vcs_link(session, link.uid)
    return jobs + await SERVICES.naming_vcs_link(session, link.uid)


async def delete_link(session: AsyncSession, link_id: str) -> None:
    """Delete the link; 409 while a job or build service names it by `vcsLinkId`."""
    link = await get_link(session, link_id)
    users = await users_of(session, link)
    if users:
        raise Conflict(
            f"VCS link {link.id!r} is in use by {', '.join(users)}: point them elsewhere first",
            {"usedBy": users},
        )
    await repository.remove(session, link)
    await session.commit()


def response(link: VcsLink) -> VcsLinkResponse:
    return VcsLinkResponse.model_validate(
        {
            "id": link.id,
            "vcs_link_id": link.uid,
            "name": link.name,
            "kind": link.kind,
            "vcs_service": link.vcs_service,
            "vcs_type": link.vcs_type,
            "vcs_url": link.vcs_url,
            "login": link.login,
            "public_key": link.public_key,
            "host_key": link.host_key,
            "self_hosted_vcs_id": link.self_hosted_vcs_id,
            "created_at": link.created_at,
            "updated_at": link.updated_at,
        }
    )


def account_link(link: VcsLink) -> VcsAccountLink:
    return VcsAccountLink.model_validate(
        response(link).model_dump(include={"vcs_link_id", "login", "name", "vcs_service"})
        | {"vcs_type": link.vcs_type, "vcs_url": link.vcs_url}
    )


def credentials_of(box: SecretBox, link: VcsLink) -> Credentials:
    secret = box.open(link.sealed_secret, context=secret_context(link.uid))
    if link.kind == "ssh":
        return SshKey(link.login, secret, link.host_key)
    return GitCredentials(link.login, secret.decode())


async def _credentials(
    session: AsyncSession, box: SecretBox, git: GitClient, link: VcsLink, url: str
) -> tuple[Credentials, str | None]:
    """The link's credentials to fetch `url` with, and the host key pinned now: an ssh link
    without one records the one the server shows (trust on first use), committed."""
    pinned = None
    if link.kind == "ssh" and link.host_key is None:
        pinned = link.host_key = await git.host_key(url)
        await session.commit()
    return credentials_of(box, link), pinned


# ---- which link fetches a repository --------------------------------------------------------


@dataclass(frozen=True)
class Fetcher:
    """Who fetches a repository: a link and its credentials, or no one (git goes without).
    `url` is the repository as its source names it, `source` what git is given: the same,
    or (`via`) the ssh URL on an ssh link's server of an https one (https://host/acme/app through a
    link of ssh://host:2222/srv is ssh://host:2222/srv/acme/app)."""

    url: str
    link: VcsLink | None = None
    credentials: Credentials | None = None
    # The ssh server's host key, when this fetch is the link's first and recorded it.
    pinned_now: str | None = None
    # The URL git is given when it is not `url`.
    via: str | None = None

    @property
    def source(self) -> str:
        return self.via or self.url

    def describe(self) -> str:
        if self.link is None:
            return f"Fetching {self.url} without a VCS link"
        said = f"Fetching {self.url} with VCS link {self.link.id!r} (login {self.link.login})"
        if self.source != self.url:
            said += f" as {self.source}"
        if self.pinned_now is not None:
            said += f"; first use of the link: pinned the server's host key {self.pinned_now}"
        return said

    def refused(self, exc: DockyardError) -> GitError:
        """The error to report when the server refused git (GitAuthFailed `exc`)."""
        if isinstance(exc, HostKeyRefused):
            if self.link is None:
                return GitError(f"Repository {self.url}: {exc.message}")
            return GitError(
                f"Repository {self.url}: the ssh host key of {_host_of(self.link)} is not the "
                f"one VCS link {self.link.id!r} pinned, so it was not trusted. If the server's "
                f"key was changed on purpose, pin the new one with PUT "
                f"/v1/integrations/vcs/links/{self.link.id}/host-key ({exc.message})"
            )
        if self.link is None:
            return GitError(
                f"Repository {self.url} needs credentials and no VCS link hosts it: add a link "
                f"with POST /v1/integrations/vcs/links ({exc.message})"
            )
        what = "its public key as a deploy key of" if self.link.kind == "ssh" else "its token and"
        return GitError(
            f"Repository {self.url} refused VCS link {self.link.id!r} (login "
            f"{self.link.login}): check {what} its access to the repository ({exc.message})"
        )


def _host_of(link: VcsLink) -> str:
    """An ssh link's server, `host` or `host:port`."""
    parts = ssh_parts(link.vcs_url)
    if parts is None:
        return link.vcs_url
    _, host, port, _ = parts
    return host if port == 22 else f"{host}:{port}"


def hosts(link: VcsLink, git: GitClient, url: str) -> bool:
    """Whether the link's server holds repository `url` (as written or as insteadOf maps it)."""
    return fetch_url(link, git, url) is not None


def fetch_url(link: VcsLink, git: GitClient, url: str) -> str | None:
    """The URL git fetches repository `url` by through the link, None when the link's server
    does not hold it. A token link's is `url` under its https base; an ssh link's is `url`
    when it is an ssh URL on the link's host and port (`ssh://user@host:port/path` and
    `user@host:path` alike) under its path, else an https URL of the link's host made the
    ssh one on the link's server, its path under the link's."""
    candidates = (url, git.mapped(url))
    if link.kind != "ssh":
        base = link.vcs_url.lower() + "/"
        return url if any(item.lower().startswith(base) for item in candidates) else None
    if any(_ssh_hosts(link.vcs_url, candidate) for candidate in candidates):
        return url
    server = ssh_parts(link.vcs_url)
    try:
        parts = urlsplit(url if "://" in url else f"https://{url}")
    except ValueError:
        return None
    if server is None or parts.scheme.lower() not in ("http", "https"):
        return None
    if (parts.hostname or "").lower() != server[1] or parts.username or parts.query:
        return None
    return _on_server(link, parts.path.strip("/"))


def _ssh_hosts(base: str, url: str) -> bool:
    server, repository = ssh_parts(base), ssh_parts(url)
    if server is None or repository is None or server[1:3] != repository[1:3]:
        return False
    prefix, path = server[3], repository[3]
    return not prefix or path == prefix or path.startswith(prefix + "/")


def _on_server(link: VcsLink, path: str) -> str:
    if link.vcs_url.endswith(":"):  # an scp-like base names no path
        return f"{link.vcs_url}{path}"
    return f"{link.vcs_url}/{path}"


def repository_url(link: VcsLink, owner: str, name: str) -> str:
    """The URL of repository `owner/name` on the link's server."""
    return _on_server(link, f"{owner}/{name}")


async def fetcher_of(
    session: AsyncSession, box: SecretBox, git: GitClient, url: str, link: VcsLink
) -> Fetcher:
    """`link` fetching `url` (an ssh link by its server's URL; its host key pinned first)."""
    source = fetch_url(link, git, url) or url
    credentials, pinned = await _credentials(session, box, git, link, source)
    return Fetcher(url, link, credentials, pinned, source if source != url else None)


async def fetcher_for(
    session: AsyncSession,
    box: SecretBox,
    git: GitClient,
    url: str,
    *,
    vcs_link_id: str | None = None,
    account_login: str | None = None,
    self_hosted_vcs_id: str | None = None,
) -> Fetcher:
    """Who fetches repository `url` (the module's docstring says how it is chosen; a source
    naming a self-hosted VCS chooses among that server's links only)."""
    links: Sequence[VcsLink] = await repository.everywhere(session)
    if self_hosted_vcs_id is not None:
        links = await selfhosted.links_of_record(session, links, self_hosted_vcs_id, url)
    if vcs_link_id is not None:
        link = await repository.by_uid(session, vcs_link_id)
        if link is None:
            raise GitError(f"VCS link {vcs_link_id!r} (vcsLinkId of {url}) does not exist")
        if self_hosted_vcs_id is not None and link not in links:
            raise GitError(
                f"VCS link {link.id!r} is not a link of self-hosted VCS {self_hosted_vcs_id!r}"
            )
        if not hosts(link, git, url):
            raise GitError(f"VCS link {link.id!r} is for {link.vcs_url}, which does not host {url}")
        return await fetcher_of(session, box, git, url, link)
    hosting = [link for link in links if hosts(link, git, url)]
    # An accountLogin no hosting link has chooses nothing (as before links: the server's own
    # configuration, DOCKYARD_GIT_INSTEADOF, may reach the repository).
    hosting = [link for link in hosting if link.login == account_login] or hosting
    if not hosting:
        return Fetcher(url)
    if len(hosting) == 1:
        return await fetcher_of(session, box, git, url, hosting[0])
    for link in hosting:
        try:
            fetcher = await fetcher_of(session, box, git, url, link)
            await git.branches(fetcher.source, credentials=fetcher.credentials)
        except DockyardError:
            continue
        return fetcher
    names = ", ".join(repr(link.id) for link in hosting)
    raise GitError(f"None of the VCS links that host {url} ({names}) can read it")


# ---- branches -------------------------------------------------------------------------------


async def branches(
    session: AsyncSession,
    box: SecretBox,
    git: GitClient,
    vcs_service: str,
    owner: str,
    name: str,
    vcs_link_id: str | None,
    request: PageRequest,
) -> Page[Branch]:
    """The branches of repository `owner/name` on the server of the link `vcs_link_id` (else
    of the first link of `vcs_service` that can list them), by name."""
    if vcs_link_id is not None:
        links = [await get_link(session, vcs_link_id)]
    else:
        links = [link for link in await list_links(session) if link.vcs_service == vcs_service]
    if not links:
        raise NotFound(f"No {vcs_service} VCS link", {"vcsService": vcs_service})
    failure: DockyardError | None = None
    for link in links:
        url = repository_url(link, owner, name)
        try:
            credentials, _ = await _credentials(session, box, git, link, url)
            heads = await git.branches(url, credentials=credentials)
        except DockyardError as exc:
            failure = exc
            continue
        found = [
            Branch(id=branch, name=branch, commit=BranchCommit(sha=heads[branch]))
            for branch in sorted(heads)
        ]
        return page_of_list(found, request)
    assert failure is not None
    raise failure
