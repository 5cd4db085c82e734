"""Wire models of build services, exactly as patch-build-service.md and the official clients
give them. `BuildServiceSpec` is the create/PUT body and every stored service, re-validated as
a whole after a change; `BuildServicePatch` holds the PATCH page's fields, all optional."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field, ValidationError, model_validator
from pydantic_core import InitErrorDetails

from dockyard.projects.schemas import Cluster
from dockyard.targets.schemas import (
    BuildArguments,
    BuildConfiguration,
    BuildEngine,
    BuildFiles,
    BuildkitOptions,
    BuildpackOptions,
    BuildSettings,
    BuildStatusOfTarget,
    BuildStorage,
    DirectoryPath,
    DockerSecretMounts,
    FilePath,
    Gpu,
    Infrastructure,
    PlanId,
)
from dockyard.vcs.schemas import (
    AccountLogin,
    ProjectType,
    ProjectUrl,
    SelfHostedVcsId,
    VcsData,
    VcsLinkId,
    VcsRepository,
)
from dockyard.wire.fields import NAME_PATTERN, Description, ResourceTag
from dockyard.wire.models import RequestModel, Timestamp, WireModel

ServiceName = Annotated[str, Field(min_length=3, max_length=54, pattern=NAME_PATTERN)]
BuildSource = Literal["git", "bundle"]

# The page's rule `^[^?:@$~ [\\]{}]*$` with the docs' doubled escapes undone: no `?`, `:`,
# `@`, `$`, `~`, space, `[`, `]`, `{`, `}`; `*` is the wildcard. Bounds are dockyard's.
BRANCH_RULE_PATTERN = r"^[^?:@$~ \[\]{}]*$"
BranchRule = Annotated[
    str,
    Field(
        min_length=1,
        max_length=255,
        pattern=BRANCH_RULE_PATTERN,
        description="A branch name; `*` matches any run of characters (`feature/*`).",
    ),
]


class ServiceBilling(RequestModel):
    deployment_plan: PlanId | None = Field(None, description="Deprecated: use buildPlan.")
    build_plan: PlanId | None = Field(None, description="The ID of the build plan to use.")
    gpu: Gpu | None = None


class ServiceBuildConfiguration(BuildConfiguration):
    """The shared buildConfiguration plus the rules of which pushes are built."""

    pr_restrictions: list[BranchRule] | None = Field(
        None, description="Branches whose pull requests are built automatically."
    )
    branch_restrictions: list[BranchRule] | None = Field(
        None, description="Branches whose commits are built automatically."
    )


class BuildServiceFields(RequestModel):
    """The fields a create body and a stored service share with the replies."""

    name: ServiceName
    description: Description | None = None
    tags: list[ResourceTag] | None = None
    billing: ServiceBilling
    infrastructure: Infrastructure | None = None
    disabled_ci: bool | None = Field(None, alias="disabledCI")
    build_source: BuildSource | None = None
    build_settings: BuildSettings
    build_configuration: ServiceBuildConfiguration | None = None
    build_arguments: BuildArguments | None = None
    build_files: BuildFiles | None = None
    docker_secret_mounts: DockerSecretMounts | None = None


class BuildServiceSpec(BuildServiceFields):
    """Create and PUT body; also every stored service. A service building from git (the
    default, `buildSource` unset or `git`) needs `vcsData`."""

    vcs_data: VcsRepository | None = None

    @model_validator(mode="after")
    def _git_needs_a_repository(self) -> BuildServiceSpec:
        if self.build_source != "bundle" and self.vcs_data is None:
            missing = InitErrorDetails(type="missing", loc=("vcsData",), input=None)
            raise ValidationError.from_exception_data(type(self).__name__, [missing])
        return self


# ---- PATCH ---------------------------------------------------------------------------------


class VcsDataPatch(RequestModel):
    project_url: ProjectUrl | None = None
    project_type: ProjectType | None = None
    self_hosted_vcs_id: SelfHostedVcsId | None = None
    account_login: AccountLogin | None = None
    vcs_link_id: VcsLinkId | None = None


class DockerfilePatch(RequestModel):
    use_cache: bool | None = Field(None, description="DEPRECATED, no effect.")
    build_engine: BuildEngine | None = None
    docker_file_path: FilePath | None = None
    docker_work_dir: DirectoryPath | None = None
    buildkit: BuildkitOptions | None = None


class BuildSettingsPatch(RequestModel):
    """As on the PATCH page, an object that may name both engines: the service keeps its
    engine and takes that part; naming only the other engine switches to it."""

    storage: BuildStorage | None = None
    dockerfile: DockerfilePatch | None = None
    buildpack: BuildpackOptions | None = None


class BuildServicePatch(RequestModel):
    """PATCH body: the page's fields; objects merge into the stored ones."""

    description: Description | None = None
    tags: list[ResourceTag] | None = None
    billing: ServiceBilling | None = None
    disabled_ci: bool | None = Field(None, alias="disabledCI")
    build_source: BuildSource | None = None
    vcs_data: VcsDataPatch | None = None
    build_settings: BuildSettingsPatch | None = None
    build_configuration: ServiceBuildConfiguration | None = None
    build_arguments: BuildArguments | None = None
    build_files: BuildFiles | None = None
    docker_secret_mounts: DockerSecretMounts | None = None


# ---- responses -----------------------------------------------------------------------------


class ServiceSummary(WireModel):
    """A service in lists (GET /services; the project detail adds its appId the same way)."""

    id: str
    uid: str
    name: str
    description: str | None = None
    service_type: Literal["build"] = "build"
    project_id: str
    disabled_ci: bool = Field(False, alias="disabledCI")
    disabled_cd: bool = Field(False, alias="disabledCD")
    tags: list[str] = Field(default_factory=list)
    status: BuildStatusOfTarget = Field(default_factory=BuildStatusOfTarget)


class ServiceListItem(ServiceSummary):
    app_id: str


class ServiceList(WireModel):
    services: list[ServiceListItem]


class BuildServiceResponse(BuildServiceFields):
    """A build service as create, PUT, PATCH and GET answer it (secret fields only in the
    replies to writes)."""

    service_type: Literal["build"] = "build"
    id: str
    app_id: str
    project_id: str
    uid: str
    tags: list[ResourceTag] = Field(default_factory=list)
    disabled_ci: bool = Field(False, alias="disabledCI")
    vcs_data: VcsData | None = None
    status: BuildStatusOfTarget
    cluster: Cluster
    created_at: Timestamp
    updated_at: Timestamp
