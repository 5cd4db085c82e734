"""Wire models of a git source (`vcsData`, `deployment.vcs`, build-source bodies), shared by
jobs and build services."""

from __future__ import annotations

from typing import Annotated, Literal
from urllib.parse import urlsplit

from pydantic import AfterValidator, Field

from dockyard.engine.git import url_path_problem
from dockyard.wire.models import RequestModel, Timestamp, WireModel

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

    @property
    def server_id(self) -> str | None:
        """The self-hosted VCS whose links alone may fetch the repository: its
        `selfHostedVcsId` when its `projectType` is `self-hosted`."""
        return self.self_hosted_vcs_id if self.project_type == "self-hosted" else None


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

    @classmethod
    def of(
        cls,
        source: VcsRepository,
        docker_file_path: str | None = None,
        docker_work_dir: str | None = None,
    ) -> VcsData:
        """`vcsData` as reads report it: the git source and, for a Dockerfile build, where the
        Dockerfile is."""
        return cls(
            **source.model_dump(exclude_none=True),
            docker_file_path=docker_file_path,
            docker_work_dir=docker_work_dir,
        )


# ---- self-hosted git servers (`selfHostedVcsId`) ------------------------------------------

VcsType = Literal["gitlab-ee", "github-ghe", "gitea"]


def http_base_url(url: str) -> str:
    """An http(s) base URL with a host, no userinfo, query or fragment; kept without the
    trailing `/`, scheme and host in lower case."""
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 - raises on a port that is not a number
    except ValueError:
        raise ValueError("not a URL") from None
    if parts.scheme.lower() not in ("http", "https") or not parts.hostname:
        raise ValueError("an http:// or https:// URL with a host")
    if "@" in parts.netloc or parts.query or parts.fragment or "\\" in url:
        raise ValueError("a base URL without user, password, query or fragment")
    netloc = parts.netloc.lower()
    return f"{parts.scheme.lower()}://{netloc}{parts.path}".rstrip("/")


VcsUrl = Annotated[
    str,
    Field(min_length=8, max_length=500, description="Base URL of the git server."),
    AfterValidator(http_base_url),
]
SelfHostedVcsName = Annotated[
    str,
    Field(
        min_length=1,
        max_length=64,
        pattern=r"^[A-Za-z0-9][A-Za-z0-9 -]*$",
        description="Name of the server; its id is the name in lower case, spaces as dashes.",
    ),
]


class SelfHostedVcsCreate(RequestModel):
    """A git server of the team's own (dockyard's extension): its base URL and its kind,
    `vcsType` (GitLab EE, GitHub Enterprise, Gitea), none for a plain git server."""

    name: SelfHostedVcsName
    vcs_url: VcsUrl
    vcs_type: VcsType | None = None


class SelfHostedVcsResponse(WireModel):
    id: str
    self_hosted_vcs_id: str
    name: str
    vcs_type: VcsType | None = None
    vcs_url: str
    created_at: Timestamp


class SelfHostedVcsList(WireModel):
    self_hosted_vcs: list[SelfHostedVcsResponse]
