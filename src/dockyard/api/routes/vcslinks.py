"""VCS links under /v1/integrations/vcs: the official clients' list of linked accounts and the
branches of a repository, and dockyard's own routes to list the links whole, create a token or
ssh link, rotate its token or deploy key, pin an ssh server's host key and delete it. Tokens
and private keys are never in a reply; an ssh link's public key is."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Query

from dockyard.api.deps import SecretBoxDep, SessionDep, SettingsDep
from dockyard.api.pagination import PageDep, pagination_of
from dockyard.api.permissions import VcsCreate, VcsDelete, VcsRead, VcsUpdate
from dockyard.engine.git import GitClient
from dockyard.vcslinks import service
from dockyard.vcslinks.schemas import (
    BranchList,
    VcsHostKey,
    VcsLinkCreate,
    VcsLinkList,
    VcsLinkPatch,
    VcsLinkResponse,
    VcsList,
    VcsService,
)
from dockyard.wire.models import Envelope, ListEnvelope

router = APIRouter(prefix="/integrations/vcs", tags=["vcs"])
# A request waits for git's listing at most this long (a build's fetch has the build timeout).
LISTING_TIMEOUT = 30.0

LinkId = Annotated[str, Path(max_length=64, description="ID or vcsLinkId of the VCS link")]
RepositoryPart = Annotated[
    str, Path(max_length=100, pattern=r"^[A-Za-z0-9_.-]+$", description="owner or name")
]


@router.get("")
async def list_vcs(session: SessionDep, _: VcsRead) -> Envelope[VcsList]:
    """The linked accounts, oldest first."""
    links = await service.list_links(session)
    return Envelope(data=VcsList(vcs_account_links=[service.account_link(k) for k in links]))


@router.get("/repos/{vcsService}/{repositoryOwner}/{repositoryName}/branches")
async def list_branches(
    vcsService: VcsService,
    repositoryOwner: RepositoryPart,
    repositoryName: RepositoryPart,
    session: SessionDep,
    box: SecretBoxDep,
    settings: SettingsDep,
    page: PageDep,
    _: VcsRead,
    vcs_link_id: Annotated[str | None, Query(max_length=64)] = None,
) -> ListEnvelope[BranchList]:
    """The repository's branches by name, as `git ls-remote --heads` lists them through the
    link `vcs_link_id` (else the first link of `vcsService` that can)."""
    git = GitClient(settings.git_insteadof, allow=settings.fetch_allow, timeout=LISTING_TIMEOUT)
    result = await service.branches(
        session, box, git, vcsService, repositoryOwner, repositoryName, vcs_link_id, page
    )
    return ListEnvelope(
        data=BranchList(branches=list(result.items)), pagination=pagination_of(result)
    )


@router.get("/links")
async def list_vcs_links(
    session: SessionDep, page: PageDep, _: VcsRead
) -> ListEnvelope[VcsLinkList]:
    """The links, oldest first, whole (dockyard's extension): each one's kind, an ssh link's
    public key and pinned host key, a token link's selfHostedVcsId; never a token."""
    result = await service.list_link_page(session, page)
    items = [service.response(link) for link in result.items]
    return ListEnvelope(data=VcsLinkList(links=items), pagination=pagination_of(result))


@router.post("/links")
async def create_vcs_link(
    body: VcsLinkCreate, session: SessionDep, box: SecretBoxDep, _: VcsCreate
) -> Envelope[VcsLinkResponse]:
    """A token or ssh link (dockyard's extension); 409 when one with that name's id exists.
    An ssh link's reply shows the public key of the deploy key dockyard made for it."""
    return Envelope(data=service.response(await service.create_link(session, box, body)))


@router.patch("/links/{linkId}")
async def rotate_vcs_link(
    linkId: LinkId, body: VcsLinkPatch, session: SessionDep, box: SecretBoxDep, _: VcsUpdate
) -> Envelope[VcsLinkResponse]:
    """Replace the token link's token (and its login, when given)."""
    return Envelope(data=service.response(await service.rotate_token(session, box, linkId, body)))


@router.post("/links/{linkId}/rotate-key")
async def rotate_vcs_link_key(
    linkId: LinkId, session: SessionDep, box: SecretBoxDep, _: VcsUpdate
) -> Envelope[VcsLinkResponse]:
    """A new deploy key for the ssh link; the reply shows its public key."""
    return Envelope(data=service.response(await service.rotate_key(session, box, linkId)))


@router.put("/links/{linkId}/host-key")
async def pin_vcs_link_host_key(
    linkId: LinkId, body: VcsHostKey, session: SessionDep, _: VcsUpdate
) -> Envelope[VcsLinkResponse]:
    """Pin the ssh server's host key anew (null: the next fetch records the server's)."""
    return Envelope(data=service.response(await service.pin_host_key(session, linkId, body)))


@router.delete("/links/{linkId}")
async def delete_vcs_link(
    linkId: LinkId, session: SessionDep, _: VcsDelete
) -> Envelope[dict[str, str]]:
    """Delete the link; 409 while a job or build service names it by vcsLinkId."""
    await service.delete_link(session, linkId)
    return Envelope(data={})
