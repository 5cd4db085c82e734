"""Wire models of VCS links: the official clients' list and branch shapes
(`GET /v1/integrations/vcs`, `.../repos/{vcsService}/{owner}/{name}/branches`) and dockyard's
create and token rotation bodies."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import Field, model_validator

from dockyard.vcs.schemas import VcsType, VcsUrl
from dockyard.vcslinks.selfhosted_schemas import SelfHostedVcsRef, refuse_server_fields
from dockyard.wire.models import RequestModel, Timestamp, WireModel

VcsService = Literal["github", "gitlab", "bitbucket", "self-hosted"]
LinkKind = Literal["token"]
# Where the hosted services keep their repositories when a link names no vcsUrl.
HOSTED_URLS: dict[str, str] = {
    "github": "https://github.com",
    "gitlab": "https://gitlab.com",
    "bitbucket": "https://bitbucket.org",
}


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
    """A token link. `vcsUrl` defaults to the hosted service's (github.com, gitlab.com,
    bitbucket.org); a self-hosted server needs it."""

    name: LinkName
    vcs_service: VcsService
    vcs_type: VcsType | None = None
    vcs_url: VcsUrl | None = None
    login: Login
    token: Token
    kind: LinkKind = "token"
    self_hosted_vcs_id: SelfHostedVcsRef | None = None

    @model_validator(mode="after")
    def _self_hosted_needs_a_url(self) -> VcsLinkCreate:
        if self.self_hosted_vcs_id is not None:
            refuse_server_fields(self.vcs_service, self.vcs_url, self.vcs_type)
        elif self.vcs_url is None and self.vcs_service not in HOSTED_URLS:
            raise ValueError("vcsUrl is required for a self-hosted git server")
        return self

    @property
    def base_url(self) -> str:
        return self.vcs_url or HOSTED_URLS[self.vcs_service]


class VcsLinkPatch(RequestModel):
    """A new token (rotation) and, optionally, the login it belongs to."""

    token: Token
    login: Login | None = None


class VcsLinkResponse(WireModel):
    id: str
    vcs_link_id: str
    name: str
    kind: LinkKind
    vcs_service: VcsService
    vcs_type: VcsType | None = None
    vcs_url: str
    login: str
    self_hosted_vcs_id: str | None = None
    created_at: Timestamp
    updated_at: Timestamp


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
