"""The repositories the VCS links reach (`GET /v1/integrations/vcs/repos`), filtered by link,
service, self-hosted VCS and login. A link to a server with a REST listing (GitHub, GitLab,
Gitea, Bitbucket, hosted or by the self-hosted VCS's vcsType) lists what its token reaches
there (engine/forges.py); a plain git server has no listing, so for its links the
repositories are those dockyard's jobs and build services name that the link hosts and can
read (`git ls-remote` through the link, as builds fetch). Ordered by link (oldest first), then
by full name."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncSession

from dockyard.db.repository import Page, PageRequest, page_of_list
from dockyard.engine.base import GitClient, GitCredentials
from dockyard.engine.forges import ForgeRepo, list_repositories, listing_kind
from dockyard.errors import DockyardError, UpstreamFailed
from dockyard.jobs.service import JOBS
from dockyard.secrets.crypto import SecretBox
from dockyard.services.service import SERVICES
from dockyard.vcs import service as records
from dockyard.vcslinks.models import VcsLink
from dockyard.vcslinks.selfhosted_schemas import Repo, RepoOwner
from dockyard.vcslinks.service import (
    Fetcher,
    credentials_of,
    fetcher_of,
    get_link,
    hosts,
    list_links,
)

# How many `git ls-remote` of a plain git server's candidates run at once.
READS_AT_ONCE = 8


@dataclass(frozen=True)
class RepoFilter:
    """The query's filters; None: any."""

    vcs_service: str | None = None
    self_hosted_vcs_id: str | None = None
    account_login: str | None = None
    vcs_link_id: str | None = None


async def _links(session: AsyncSession, wanted: RepoFilter) -> list[VcsLink]:
    """The links the filters keep; 404 for a link or self-hosted VCS that does not exist."""
    if wanted.vcs_link_id is not None:
        links = [await get_link(session, wanted.vcs_link_id)]
    else:
        links = list(await list_links(session))
    if wanted.self_hosted_vcs_id is not None:
        server = (await records.get_record(session, wanted.self_hosted_vcs_id)).uid
        links = [link for link in links if link.self_hosted_vcs_id == server]
    if wanted.vcs_service is not None:
        links = [link for link in links if link.vcs_service == wanted.vcs_service]
    if wanted.account_login is not None:
        links = [link for link in links if link.login == wanted.account_login]
    return links


def _repo(link: VcsLink, found: ForgeRepo) -> Repo:
    return Repo(
        account_login=link.login,
        full_name=found.full_name,
        id=found.id,
        name=found.name,
        owner=RepoOwner(login=found.owner),
        self_hosted_vcs_id=link.self_hosted_vcs_id,
        url=found.url,
        vcs_service=link.vcs_service,
    )


def _plain_repo(link: VcsLink, git: GitClient, url: str) -> ForgeRepo:
    """A repository of a plain git server as its URL names it: the path under the link's
    server (as written or as insteadOf maps it) is its full name."""
    base = link.vcs_url.lower() + "/"
    where = next(c for c in (url, git.mapped(url)) if c.lower().startswith(base))
    full_name = where[len(base) :].strip("/").removesuffix(".git")
    owner, _, name = full_name.rpartition("/")
    return ForgeRepo(id=full_name, name=name, full_name=full_name, owner=owner or name, url=url)


async def _readable(
    session: AsyncSession, box: SecretBox, git: GitClient, link: VcsLink
) -> list[ForgeRepo]:
    """The repositories jobs and build services name that `link` hosts and can read."""
    sources = await JOBS.sources(session) + await SERVICES.sources(session)
    urls = sorted({vcs.project_url for vcs in sources if hosts(link, git, vcs.project_url)})
    # One at a time: an ssh link pins its server's host key at the first (in the session).
    fetchers = [await fetcher_of(session, box, git, url, link) for url in urls]
    gate = asyncio.Semaphore(READS_AT_ONCE)

    async def reads(fetcher: Fetcher) -> bool:
        async with gate:
            try:
                await git.branches(fetcher.source, credentials=fetcher.credentials)
            except DockyardError:
                return False
            return True

    answers = await asyncio.gather(*(reads(fetcher) for fetcher in fetchers))
    return [_plain_repo(link, git, url) for url, ok in zip(urls, answers, strict=True) if ok]


async def _listed(
    box: SecretBox, link: VcsLink, kind: str, allow: Sequence[str], timeout: float
) -> list[ForgeRepo]:
    token = credentials_of(box, link)
    assert isinstance(token, GitCredentials)  # only token links are listed by their server
    try:
        return await list_repositories(kind, link.vcs_url, token, allow=allow, timeout=timeout)
    except UpstreamFailed as exc:
        raise UpstreamFailed(
            f"VCS link {link.id!r} (login {link.login}) could not list its repositories: "
            f"{exc.message}",
            {"vcsLinkId": link.uid},
        ) from None


async def list_repos(
    session: AsyncSession,
    box: SecretBox,
    git: GitClient,
    wanted: RepoFilter,
    request: PageRequest,
    *,
    allow: Sequence[str],
    timeout: float,
) -> Page[Repo]:
    """The repositories the links the filters keep reach (the module's docstring says how)."""
    repos: list[Repo] = []
    for link in await _links(session, wanted):
        kind = listing_kind(link.vcs_service, link.vcs_type) if link.kind == "token" else None
        if kind is None:
            found = await _readable(session, box, git, link)
        else:
            found = await _listed(box, link, kind, allow, timeout)
        repos += [_repo(link, repo) for repo in sorted(found, key=lambda r: r.full_name)]
    return page_of_list(repos, request)
