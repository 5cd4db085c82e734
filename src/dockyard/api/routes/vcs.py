"""Self-hosted VCS records under /v1/integrations/vcs/self-hosted (dockyard's extension: add,
list, get, delete; 409 while links or jobs and build services name one), and the
repositories the VCS links reach (`GET /v1/integrations/vcs/repos`, as the official clients
call it)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Query

from dockyard.api.deps import SecretBoxDep, SessionDep, SettingsDep
from dockyard.api.pagination import PageDep, pagination_of
from dockyard.api.permissions import VcsCreate, VcsDelete, VcsRead
from dockyard.api.routes.vcslinks import LISTING_TIMEOUT
from dockyard.engine.git import GitClient
from dockyard.vcs import service
from dockyard.vcs.schemas import SelfHostedVcsCreate, SelfHostedVcsList, SelfHostedVcsResponse
from dockyard.vcslinks import repos, selfhosted
from dockyard.vcslinks.schemas import VcsService
from dockyard.vcslinks.selfhosted_schemas import RepoList
from dockyard.wire.models import Envelope, ErrorEnvelope, ListEnvelope

router = APIRouter(prefix="/integrations/vcs", tags=["vcs"])

RecordId = Annotated[
    str, Path(max_length=64, description="ID or selfHostedVcsId of the self-hosted VCS")
]
AnId = Annotated[str | None, Query(min_length=1, max_length=64)]


@router.post("/self-hosted")
async def add_self_hosted_vcs(
    body: SelfHostedVcsCreate, session: SessionDep, _: VcsCreate
) -> Envelope[SelfHostedVcsResponse]:
    """A git server of the team's own; 409 when one with that name's id exists."""
    return Envelope(data=service.response(await service.create_record(session, body)))


@router.get("/self-hosted")
async def list_self_hosted_vcs(
    session: SessionDep, page: PageDep, _: VcsRead
) -> ListEnvelope[SelfHostedVcsList]:
    """The self-hosted VCS records, oldest first."""
    result = await service.list_records(session, page)
    items = [service.response(record) for record in result.items]
    return ListEnvelope(
        data=SelfHostedVcsList(self_hosted_vcs=items), pagination=pagination_of(result)
    )


@router.get("/self-hosted/{selfHostedVcsId}")
async def get_self_hosted_vcs(
    selfHostedVcsId: RecordId, session: SessionDep, _: VcsRead
) -> Envelope[SelfHostedVcsResponse]:
    return Envelope(data=service.response(await service.get_record(session, selfHostedVcsId)))


@router.delete("/self-hosted/{selfHostedVcsId}")
async def delete_self_hosted_vcs(
    selfHostedVcsId: RecordId, session: SessionDep, _: VcsDelete
) -> Envelope[dict[str, str]]:
    """Delete the record; 409 while VCS links or jobs and build services name it."""
    await selfhosted.delete_record(session, selfHostedVcsId)
    return Envelope(data={})


@router.get(
    "/repos",
    responses={
        502: {
            "description": "A link's server could not list its repositories",
            "model": ErrorEnvelope,
        }
    },
)
async def list_repos(
    session: SessionDep,
    box: SecretBoxDep,
    settings: SettingsDep,
    page: PageDep,
    _: VcsRead,
    vcs_service: Annotated[VcsService | None, Query()] = None,
    self_hosted_vcs_id: AnId = None,
    account_login: Annotated[str | None, Query(min_length=1, max_length=100)] = None,
    vcs_link_id: AnId = None,
) -> ListEnvelope[RepoList]:
    """The repositories the links reach: listed by the server's REST API for GitHub, GitLab,
    Gitea and Bitbucket; for a plain git server, those jobs and build services name that the
    link can read. 502 naming the link when a server's listing fails."""
    git = GitClient(settings.git_insteadof, allow=settings.fetch_allow, timeout=LISTING_TIMEOUT)
    wanted = repos.RepoFilter(vcs_service, self_hosted_vcs_id, account_login, vcs_link_id)
    result = await repos.list_repos(
        session,
        box,
        git,
        wanted,
        page,
        allow=settings.fetch_allow,
        timeout=LISTING_TIMEOUT,
    )
    return ListEnvelope(data=RepoList(repos=list(result.items)), pagination=pagination_of(result))
