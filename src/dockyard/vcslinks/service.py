"""VCS link rules: a link is the team's account on a git server (`vcsUrl`), read by every
project. Its id is the slug of its name (unique), its `vcsLinkId` 24 hex digits; its token is
sealed at rest and never shown, logged or handed to git other than through git's credential
helper (engine/git.py).

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

from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from dockyard.db.repository import Page, PageRequest, page_of_list
from dockyard.engine.base import GitClient, GitCredentials
from dockyard.errors import Conflict, DockyardError, GitError, NotFound
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
    VcsLinkCreate,
    VcsLinkPatch,
    VcsLinkResponse,
)


def secret_context(uid: str) -> str:
    return f"vcs-link:{uid}:secret"


# ---- the links ------------------------------------------------------------------------------


async def get_link(session: AsyncSession, link_id: str) -> VcsLink:
    """The link whose id or `vcsLinkId` is `link_id`; 404 when there is none."""
    link = await repository.get(session, link_id)
    if link is None:
        raise NotFound(f"VCS link {link_id!r} not found", {"linkId": link_id})
    return link


async def list_links(session: AsyncSession) -> Sequence[VcsLink]:
    return await repository.everywhere(session)


async def create_link(session: AsyncSession, box: SecretBox, body: VcsLinkCreate) -> VcsLink:
    """A new link; 409 when one of that name's id exists."""
    uid = new_uid()
    vcs_url, vcs_type, server = await selfhosted.server_of(session, body)
    link = VcsLink(
        id=slugify(body.name),
        uid=uid,
        name=body.name,
        kind=body.kind,
        vcs_service=body.vcs_service,
        vcs_type=vcs_type,
        vcs_url=vcs_url,
        self_hosted_vcs_id=server,
        login=body.login,
        sealed_secret=box.seal(body.token.encode(), context=secret_context(uid)),
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
    """The link with its new token (and login, when given)."""
    link = await get_link(session, link_id)
    link.sealed_secret = box.seal(body.token.encode(), context=secret_context(link.uid))
    if body.login is not None:
        link.login = body.login
    await session.commit()
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


def credentials_of(box: SecretBox, link: VcsLink) -> GitCredentials:
    token = box.open(link.sealed_secret, context=secret_context(link.uid)).decode()
    return GitCredentials(link.login, token)


# ---- which link fetches a repository --------------------------------------------------------


@dataclass(frozen=True)
class Fetcher:
    """Who fetches a repository: a link and its credentials, or no one (git goes without)."""

    url: str
    link: VcsLink | None = None
    credentials: GitCredentials | None = None

    def describe(self) -> str:
        if self.link is None:
            return f"Fetching {self.url} without a VCS link"
        return f"Fetching {self.url} with VCS link {self.link.id!r} (login {self.link.login})"

    def refused(self, exc: DockyardError) -> GitError:
        """The error to report when the server refused git (GitAuthFailed `exc`)."""
        if self.link is None:
            return GitError(
                f"Repository {self.url} needs credentials and no VCS link hosts it: add a link "
                f"with POST /v1/integrations/vcs/links ({exc.message})"
            )
        return GitError(
            f"Repository {self.url} refused VCS link {self.link.id!r} (login "
            f"{self.link.login}): check the link's token and its access to the repository "
            f"({exc.message})"
        )


def hosts(link: VcsLink, git: GitClient, url: str) -> bool:
    """Whether the link's server holds repository `url` (as written or as insteadOf maps it)."""
    base = link.vcs_url.lower() + "/"
    return any(candidate.lower().startswith(base) for candidate in (url, git.mapped(url)))


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
        return Fetcher(url, link, credentials_of(box, link))
    hosting = [link for link in links if hosts(link, git, url)]
    # An accountLogin no hosting link has chooses nothing (as before links: the server's own
    # configuration, DOCKYARD_GIT_INSTEADOF, may reach the repository).
    hosting = [link for link in hosting if link.login == account_login] or hosting
    if not hosting:
        return Fetcher(url)
    if len(hosting) == 1:
        return Fetcher(url, hosting[0], credentials_of(box, hosting[0]))
    for link in hosting:
        fetcher = Fetcher(url, link, credentials_of(box, link))
        try:
            await git.branches(url, credentials=fetcher.credentials)
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
        url = f"{link.vcs_url}/{owner}/{name}"
        try:
            heads = await git.branches(url, credentials=credentials_of(box, link))
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
