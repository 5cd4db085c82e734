"""Wire models of job runs: the start request (per-run overrides of the job) and the run as
the official clients read it."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field, Tag

from dockyard.jobs.schemas import DeploymentOptions, ExternalImage, InternalImage
from dockyard.runs.models import RunTrigger
from dockyard.targets.schemas import DockerSecretMounts, PlanId, SecretFiles, Variables, one_of_keys
from dockyard.wire.models import RequestModel, Timestamp, WireModel
from dockyard.wire.paths import union_tag


class RunBilling(RequestModel):
    deployment_plan: PlanId | None = None


class RunInternalDeployment(DeploymentOptions):
    """Run the image of a build: of another job or build service (`id`), or of this job."""

    internal: InternalImage


class RunExternalDeployment(DeploymentOptions):
    external: ExternalImage


RunDeployment = Annotated[
    Annotated[RunInternalDeployment, Tag(union_tag("internal"))]
    | Annotated[RunExternalDeployment, Tag(union_tag("external"))]
    | Annotated[DeploymentOptions, Tag(union_tag("none"))],
    one_of_keys("internal", "external", otherwise="none"),
    Field(description="This run's image and runtime options: at most one of internal, external."),
]


class StartJobRunRequest(RequestModel):
    """Overrides of the job's settings for one run."""

    billing: RunBilling | None = None
    deployment: RunDeployment | None = None
    runtime_environment: Variables | None = None
    runtime_files: SecretFiles | None = None
    docker_secret_mounts: DockerSecretMounts | None = None


class StartedRun(WireModel):
    id: str
    run_name: str


class RunResponse(WireModel):
    """A run as the official clients read it: a QUEUED run shows as RUNNING with `active` 0,
    as they know only RUNNING, SUCCESS and FAILED. Added: `trigger` (what started it) and, for
    a run its job's schedule started, the due time it ran for (`scheduledAt`)."""

    nullable = frozenset({"startedAt", "concludedAt"})

    id: str
    run_name: str
    status: Literal["RUNNING", "SUCCESS", "FAILED"]
    message: str | None = None
    active: int
    succeeded: int
    failed: int
    completions: int = 1
    backoff_limit: int
    concluded: bool
    trigger: RunTrigger
    scheduled_at: Timestamp | None = None
    created_at: Timestamp
    started_at: Timestamp | None
    concluded_at: Timestamp | None


class RunList(WireModel):
    runs: list[RunResponse]
