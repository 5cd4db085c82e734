"""Wire pieces of a VCS link of a self-hosted VCS record (`selfHostedVcsId`) and of the
repositories the links reach (`GET /v1/integrations/vcs/repos`, the official clients' shape)."""

from __future__ import annotations

from typing import Annotated

from pydantic import Field

from dockyard.wire.models import WireModel

SelfHostedVcsRef = Annotated[
    str,
    Field(
        min_length=1,
        max_length=64,
        description="selfHostedVcsId (or id) of the self-hosted VCS the link is an account on: "
        "its vcsUrl and vcsType are the server's.",
    ),
]


def refuse_server_fields(vcs_service: str, vcs_url: str | None, vcs_type: str | None) -> None:
    """A link of a self-hosted VCS takes its server from the record."""
    if vcs_service != "self-hosted":
        raise ValueError("a link naming selfHostedVcsId has vcsService 'self-hosted'")
    if vcs_url is not None or vcs_type is not None:
        raise ValueError("a link naming selfHostedVcsId takes vcsUrl and vcsType from it")


class RepoOwner(WireModel):
    login: str


class Repo(WireModel):
    """An entry of `GET /v1/integrations/vcs/repos`. `full_name` is snake case, as the official
    clients' type has it."""

    account_login: str
    full_name: str = Field(alias="full_name")
    id: str
    name: str
    owner: RepoOwner
    self_hosted_vcs_id: str | None = None
    url: str
    vcs_service: str


class RepoList(WireModel):
    repos: list[Repo]
