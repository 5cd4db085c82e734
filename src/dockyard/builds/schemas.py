"""Wire models of builds: starting one (overrides, sha, pull request, bundle) and the build
object the API answers with."""

from __future__ import annotations

from typing import Annotated

from pydantic import Field, model_validator

from dockyard.builds.models import BuildTrigger
from dockyard.targets.schemas import (
    BuildArguments,
    BuildFiles,
    BuildStatus,
    DirectoryPath,
    DockerfileTarget,
    DockerSecretMounts,
    FilePath,
)
from dockyard.vcs.schemas import ProjectBranch
from dockyard.wire.models import RequestModel, Timestamp, WireModel
from dockyard.wire.paths import field_error

# ---- starting a build and the build object -------------------------------------------------

Sha = Annotated[
    str,
    Field(min_length=40, max_length=40, pattern=r"^[0-9a-fA-F]{40}$", description="commit sha"),
]


class DockerOverrides(RequestModel):
    docker_file_path: FilePath | None = None
    docker_work_dir: DirectoryPath | None = None
    dockerfile_target: DockerfileTarget | None = None


class BuildOverrides(RequestModel):
    """Settings for this build only; in a clash these win over the job's or service's."""

    build_arguments: BuildArguments | None = None
    build_files: BuildFiles | None = None
    docker_secret_mounts: DockerSecretMounts | None = None
    docker: DockerOverrides | None = None


class StartJobBuildRequest(RequestModel):
    sha: Sha | None = None
    overrides: BuildOverrides | None = None


PullRequestId = Annotated[int, Field(ge=1, le=2**31 - 1)]
BundleUrl = Annotated[str, Field(pattern=r"^https?://[^\s]+$", max_length=2048)]


class StartServiceBuildRequest(RequestModel):
    """Build from a bundle (`bundleUrl`), or from git: exactly one of `branch` and
    `pullRequestId`, with an optional `sha` (else the latest commit of that branch or PR)."""

    bundle_url: BundleUrl | None = None
    branch: ProjectBranch | None = None
    pull_request_id: PullRequestId | None = None
    sha: Sha | None = None
    overrides: BuildOverrides | None = None

    @model_validator(mode="after")
    def _one_source(self) -> StartServiceBuildRequest:
        if self.bundle_url is not None:
            if self.pull_request_id is not None:
                raise field_error("pullRequestId", "a bundle build takes no pullRequestId")
        elif self.branch is not None and self.pull_request_id is not None:
            raise field_error("pullRequestId", "give branch or pullRequestId, not both")
        elif self.branch is None and self.pull_request_id is None:
            raise field_error("branch", "give branch or pullRequestId (or a bundleUrl)")
        return self


class BuildRegistry(WireModel):
    """Added: `digest`, the manifest pushed as `uri`, which the build's runs pull (absent for
    builds pushed before dockyard recorded it)."""

    uri: str
    digest: str | None = None


class BuildResponse(WireModel):
    """A build as the official clients read it. Added: `trigger` (what started it)."""

    nullable = frozenset({"message"})

    id: str
    branch: str | None = None
    pull_request_id: int | None = None
    sha: str | None = None
    message: str | None = None
    status: BuildStatus
    concluded: bool
    success: bool | None = None
    trigger: BuildTrigger
    created_at: Timestamp
    build_concluded_at: int | None = Field(None, description="epoch milliseconds")
    registry: BuildRegistry | None = None


class BuildList(WireModel):
    builds: list[BuildResponse]
