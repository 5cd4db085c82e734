"""Wire models of a git source (`vcsData`, `deployment.vcs`, build-source bodies), shared by
jobs and build services."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import AfterValidator, Field

from dockyard.engine.git import url_path_problem
from dockyard.wire.models import RequestModel, WireModel

# The pages' projectUrl pattern, with the doubled escapes of the docs undone.
PROJECT_URL_PATTERN = (
    r"^(https://)?((www(\.[a-zA-Z0-9\-]{2,})+\.)?[a-zA-Z0-9\-]{2,})(\.([a-zA-Z0-9\-]{2,}))+"
    r"(/([a-zA-Z0-9\-._]{2,}))+?$"
)
# The pages write `^(owner/name)|([0-9a-f]{24})$`, whose anchors bind to one side each; this is
# the evident meaning: the whole value is either `owner/name` or a 24-digit hex id.
SELF_HOSTED_VCS_ID_PATTERN = r"^(([A-Za-z0-9-]+/[A-Za-z0-9-]+)|([0-9a-f]{24}))$"
# Not on the pages: a branch never starts with `-` (it must never read as a git option).
PROJECT_BRANCH_PATTERN = r"^[^-\s][^\s]*$"


def _safe_repository_path(url: str) -> str:
    """The pages' pattern lets `..` through as a path segment: under an insteadOf prefix it
    would name a repository outside the mapped root."""
    if problem := url_path_problem(url):
        raise ValueError(f"a repository URL may not have {problem}")
    return url


ProjectUrl = Annotated[
    str,
    Field(pattern=PROJECT_URL_PATTERN, max_length=500, description="URL of the Git repo."),
    AfterValidator(_safe_repository_path),
]
ProjectType = Literal["bitbucket", "gitlab", "github", "self-hosted", "azure"]
# Reads may also report `origin` (the official clients' read types list it).
ProjectTypeRead = Literal["bitbucket", "gitlab", "github", "self-hosted", "azure", "origin"]
SelfHostedVcsId = Annotated[
    str,
    Field(
        pattern=SELF_HOSTED_VCS_ID_PATTERN,
        description="If projectType is self-hosted, the ID of the self-hosted vcs to use.",
    ),
]
AccountLogin = Annotated[
    str, Field(min_length=1, max_length=100, description="Login of the linked VCS account.")
]
VcsLinkId = Annotated[
    str, Field(min_length=24, max_length=24, description="ID of the linked VCS account.")
]
ProjectBranch = Annotated[
    str,
    Field(
        min_length=1,
        max_length=255,
        pattern=PROJECT_BRANCH_PATTERN,
        description="The name of the branch to use.",
    ),
]


class VcsRepository(RequestModel):
    """A git repository and the account that reads it (`vcsData` of a build service)."""

    project_url: ProjectUrl
    project_type: ProjectType
    self_hosted_vcs_id: SelfHostedVcsId | None = None
    account_login: AccountLogin | None = None
    vcs_link_id: VcsLinkId | None = None


class VcsBranchSource(VcsRepository):
    """A repository and one of its branches (`deployment.vcs` of a job)."""

    project_branch: ProjectBranch


class BuildSourceUpdate(RequestModel):
    """Body of POST .../build-source (jobs and services): the fields given replace the source's."""

    project_url: ProjectUrl | None = None
    project_type: ProjectType | None = None
    project_branch: ProjectBranch | None = None
    self_hosted_vcs_id: SelfHostedVcsId | None = None
    account_login: AccountLogin | None = None


class VcsData(WireModel):
    """`vcsData` as reads report it."""

    project_url: str
    project_type: ProjectTypeRead
    project_branch: str | None = None
    docker_file_path: str | None = None
    docker_work_dir: str | None = None
    self_hosted_vcs_id: str | None = None
    account_login: str | None = None
    vcs_link_id: str | None = None
