"""Wire models of jobs, exactly as create-manual-job.md and the official clients give them.
`ManualJobPatch` holds every field as optional; `ManualJobSpec` (the create/PUT body and the
stored, re-validated whole) adds the name and makes the required fields required. Cron jobs
(`CronJobPatch`, `CronJobSpec`) add the official cron request's top-level `schedule`,
`concurrencyPolicy` and `suspended`; GET shows them as the official read type does, in
`settings.cron` (policy capitalised) and `suspended`."""

from __future__ import annotations

from typing import Annotated, Any, ClassVar, Literal

from pydantic import AfterValidator, Discriminator, Field, Tag, ValidationError, model_validator
from pydantic_core import InitErrorDetails

from dockyard.jobs.cron import checked_schedule
from dockyard.projects.schemas import Cluster
from dockyard.targets.schemas import (
    FILE_PATH_PATTERN,
    BuildArguments,
    BuildConfiguration,
    BuildFiles,
    BuildSettings,
    BuildStatusOfTarget,
    CredentialsId,
    DockerSecretMounts,
    Gpu,
    Infrastructure,
    PlanId,
    SecretFiles,
    Variables,
    one_of_keys,
)
from dockyard.vcs.schemas import ProjectBranch, VcsBranchSource, VcsData
from dockyard.wire.fields import Description, Name, ResourceTag
from dockyard.wire.models import RequestModel, Timestamp, WireModel
from dockyard.wire.paths import union_tag

Requirements = dict[str, tuple[str, ...]]


class ConditionallyRequired(RequestModel):
    """A model whose `selector` field decides which other fields are required."""

    required_by: ClassVar[Requirements] = {}
    selector: ClassVar[str]

    @model_validator(mode="after")
    def _require_selected(self) -> ConditionallyRequired:
        choice = getattr(self, self.selector)
        missing = [name for name in self.required_by.get(choice, ()) if getattr(self, name) is None]
        if missing:
            fields = type(self).model_fields
            errors = [
                InitErrorDetails(type="missing", loc=(fields[name].alias or name,), input=None)
                for name in missing
            ]
            raise ValidationError.from_exception_data(type(self).__name__, errors)
        return self


# ---- deployment ----------------------------------------------------------------------------

Command = Annotated[str, Field(min_length=1, max_length=4096)]


class DockerRuntime(ConditionallyRequired):
    """Entrypoint and command overrides of the image."""

    selector = "config_type"
    required_by: ClassVar[Requirements] = {
        "customEntrypoint": ("custom_entrypoint",),
        "customCommand": ("custom_command",),
        "customEntrypointCustomCommand": ("custom_entrypoint", "custom_command"),
    }

    config_type: Literal[
        "default", "customEntrypoint", "customCommand", "customEntrypointCustomCommand"
    ]
    custom_entrypoint: Command | None = None
    custom_command: Command | None = None


class BuildpackRuntime(ConditionallyRequired):
    """The process a buildpack image runs."""

    selector = "config_type"
    required_by: ClassVar[Requirements] = {
        "customProcess": ("custom_process",),
        "customCommand": ("custom_command",),
        "customEntrypointCustomCommand": ("custom_entrypoint", "custom_command"),
        "originalEntrypointCustomCommand": ("custom_command",),
    }

    config_type: Literal[
        "default",
        "customProcess",
        "customCommand",
        "customEntrypointCustomCommand",
        "originalEntrypointCustomCommand",
    ]
    custom_process: Command | None = None
    custom_entrypoint: Command | None = None
    custom_command: Command | None = None


class EphemeralStorage(RequestModel):
    storage_size: int | None = Field(None, ge=1024, description="Ephemeral storage in MB")


class RuntimeStorage(RequestModel):
    ephemeral_storage: EphemeralStorage | None = None
    shm_size: int | None = Field(None, ge=64, description="Size of /dev/shm in MB")


LabelKey = Annotated[str, Field(min_length=1, max_length=253)]


def _annotation_kind(value: Any) -> str:
    return union_tag("string" if isinstance(value, str) else "object")


# Not on the page: how deep an annotation object may nest (a deeper one could not be stored
# and echoed back).
ANNOTATION_DEPTH = 32


def shallow(value: dict[str, Any]) -> dict[str, Any]:
    """`value`, unless its objects and arrays nest deeper than ANNOTATION_DEPTH."""
    level: list[Any] = [value]
    for _ in range(ANNOTATION_DEPTH):
        level = [
            child
            for node in level
            for child in (node.values() if isinstance(node, dict) else node)
            if isinstance(child, dict | list)
        ]
    if level:
        raise ValueError(f"must not nest deeper than {ANNOTATION_DEPTH} levels")
    return value


Annotation = Annotated[
    Annotated[str, Tag(union_tag("string"))]
    | Annotated[dict[str, Any], AfterValidator(shallow), Tag(union_tag("object"))],
    Discriminator(_annotation_kind),
]


class WorkloadMetadata(RequestModel):
    labels: dict[LabelKey, Annotated[str, Field(max_length=63)]] | None = None
    annotations: dict[LabelKey, Annotation] | None = None


class DeploymentOptions(RequestModel):
    """How the job's container runs, whatever its image source ("Choose later" has only these)."""

    buildpack: BuildpackRuntime | None = None
    docker: DockerRuntime | None = None
    storage: RuntimeStorage | None = None
    gpu: Gpu | None = None
    grace_period_seconds: int | None = Field(None, ge=15, le=600)
    metadata: WorkloadMetadata | None = None


IMAGE_PATH_PATTERN = (
    r"^(?:(?:https?://)?([a-zA-Z0-9\-]+\.[a-zA-Z0-9.\-]+)(/v1)?)?(?:/)?([a-zA-Z/-9.\-_]+)"
    r"(?::([a-zA-Z/-9.\-_:]+)|@([a-zA-Z/-9.\-_:]+))$"
)


class ExternalImage(RequestModel):
    image_path: str = Field(pattern=IMAGE_PATH_PATTERN, max_length=500)
    credentials: CredentialsId | None = None


def _sha_or_latest(value: Any) -> str:
    return union_tag("latest" if value == "latest" else "sha")


BuildSha = Annotated[
    Annotated[
        Annotated[str, Field(pattern=r"^[0-9a-fA-F]{40}$", min_length=40, max_length=40)],
        Tag(union_tag("sha")),
    ]
    | Annotated[Literal["latest"], Tag(union_tag("latest"))],
    Discriminator(_sha_or_latest),
]


class InternalImage(RequestModel):
    id: str | None = Field(
        None, min_length=3, max_length=54, pattern=r"^[a-zA-Z](-?[a-zA-Z0-9]+(-[a-zA-Z0-9]+)*)?$"
    )
    branch: ProjectBranch | None = None
    build_sha: BuildSha | None = Field(None, alias="buildSHA")
    build_id: str | None = Field(None, pattern=r"^[a-z0-9-]+$", max_length=100)


class VcsDeployment(DeploymentOptions):
    """Deploy from version control."""

    vcs: VcsBranchSource


class ExternalDeployment(DeploymentOptions):
    """Deploy from an external image."""

    external: ExternalImage


class InternalDeployment(DeploymentOptions):
    """Deploy from a build service."""

    internal: InternalImage


DEPLOYMENT_SOURCES = ("vcs", "external", "internal")

JobDeployment = Annotated[
    Annotated[VcsDeployment, Tag(union_tag("vcs"))]
    | Annotated[ExternalDeployment, Tag(union_tag("external"))]
    | Annotated[InternalDeployment, Tag(union_tag("internal"))]
    | Annotated[DeploymentOptions, Tag(union_tag("none"))],
    one_of_keys(*DEPLOYMENT_SOURCES, otherwise="none"),
    Field(description="Where to deploy the job from: at most one of vcs, external, internal."),
]

# ---- health checks -------------------------------------------------------------------------


class HealthCheck(ConditionallyRequired):
    selector = "protocol"
    required_by: ClassVar[Requirements] = {
        "HTTP": ("path", "port"),
        "CMD": ("cmd",),
        "TCP": ("port",),
    }

    protocol: Literal["HTTP", "CMD", "TCP"]
    type: Literal["livenessProbe", "readinessProbe", "startupProbe"]
    path: str | None = Field(None, pattern=FILE_PATH_PATTERN, max_length=1024)
    cmd: Command | None = None
    port: int | None = Field(None, ge=1, le=65535)
    initial_delay_seconds: int = Field(ge=1, le=180)
    period_seconds: int = Field(ge=10, le=600)
    timeout_seconds: int = Field(ge=1, le=60)
    failure_threshold: int = Field(ge=1, le=255)
    success_threshold: int | None = Field(None, ge=1, le=255)


# ---- the job -------------------------------------------------------------------------------

RunOnSourceChange = Literal["never", "cd-promote", "always"]
# Not on the page: Kubernetes keeps backoffLimit and activeDeadlineSeconds in 32 bits, and so
# does dockyard (a run's row counts retries in a 32-bit column; a deadline of 68 years is one
# the worker can still compute).
INT32_MAX = 2**31 - 1


class JobBillingPatch(RequestModel):
    build_plan: PlanId | None = None
    deployment_plan: PlanId | None = None
    gpu: Gpu | None = None


class JobBilling(JobBillingPatch):
    deployment_plan: PlanId


class ManualJobPatch(RequestModel):
    """PATCH body: any field of the create body but the name."""

    description: Description | None = None
    infrastructure: Infrastructure | None = None
    tags: list[ResourceTag] | None = None
    billing: JobBillingPatch | None = None
    backoff_limit: int | None = Field(
        None, ge=0, le=INT32_MAX, description="Retries before the job fails."
    )
    run_on_source_change: RunOnSourceChange | None = None
    active_deadline_seconds: int | None = Field(None, ge=1, le=INT32_MAX)
    deployment: JobDeployment | None = None
    disabled_ci: bool | None = Field(None, alias="disabledCI")
    build_configuration: BuildConfiguration | None = None
    build_settings: BuildSettings | None = None
    runtime_environment: Variables | None = None
    runtime_files: SecretFiles | None = None
    build_arguments: BuildArguments | None = None
    build_files: BuildFiles | None = None
    docker_secret_mounts: DockerSecretMounts | None = None
    health_checks: list[HealthCheck] | None = None


JobType = Literal["manual", "cron"]


class ManualJobSpec(ManualJobPatch):
    """Create and PUT body; also every stored job, re-validated as a whole after a change."""

    kind: ClassVar[JobType] = "manual"

    name: Name
    billing: JobBilling
    backoff_limit: int = Field(ge=0, le=INT32_MAX, description="Retries before the job fails.")


# ---- cron jobs -----------------------------------------------------------------------------

Schedule = Annotated[
    str,
    Field(
        min_length=1,
        max_length=256,
        description="When to run the job: 5 cron fields (minute hour day-of-month month "
        "day-of-week) or a macro such as @daily, in UTC. Example: 30 8 * * *",
    ),
    AfterValidator(checked_schedule),
]
ConcurrencyPolicy = Literal["allow", "forbid", "replace"]
CONCURRENCY_POLICY_DESCRIPTION = (
    "A due time while a run of the job is unfinished: allow starts another, forbid starts none "
    "(until that run ends), replace aborts it and starts a new one."
)


class CronJobPatch(ManualJobPatch):
    """PATCH body of a cron job: any field of its create body but the name."""

    schedule: Schedule | None = None
    concurrency_policy: ConcurrencyPolicy | None = Field(
        None, description=CONCURRENCY_POLICY_DESCRIPTION
    )
    suspended: bool | None = Field(None, description="Whether the schedule starts no runs.")


class SuspendJob(RequestModel):
    """Body of POST .../jobs/{jobId}/suspend: the schedule's new state; absent, it toggles."""

    suspended: bool | None = None


class CronJobSpec(ManualJobSpec):
    """Create and PUT body of a cron job; also every stored cron job."""

    kind: ClassVar[JobType] = "cron"

    schedule: Schedule
    concurrency_policy: ConcurrencyPolicy = Field(
        "allow", description=CONCURRENCY_POLICY_DESCRIPTION
    )
    suspended: bool = Field(False, description="Whether the schedule starts no runs.")


# A job's spec: its type's create body (a cron job's is a CronJobSpec, a ManualJobSpec too).
JobSpec = ManualJobSpec | CronJobSpec
SPECS: dict[str, type[ManualJobSpec]] = {"manual": ManualJobSpec, "cron": CronJobSpec}


# ---- responses -----------------------------------------------------------------------------


class JobSettings(WireModel):
    nullable = frozenset({"activeDeadlineSeconds"})

    active_deadline_seconds: int | None
    backoff_limit: int


class CronSettings(WireModel):
    schedule: str
    concurrency_policy: Literal["Allow", "Forbid", "Replace"]


class CronJobSettings(JobSettings):
    cron: CronSettings


class JobResponseFields(WireModel):
    """What a job's reply adds to its spec (secret fields only in write replies)."""

    id: str
    app_id: str
    project_id: str
    uid: str
    tags: list[ResourceTag] = Field(default_factory=list)
    disabled_ci: bool = Field(False, alias="disabledCI")
    disabled_cd: bool = Field(False, alias="disabledCD")
    suspended: bool = False
    settings: JobSettings
    vcs_data: VcsData | None = None
    status: BuildStatusOfTarget
    cluster: Cluster
    created_at: Timestamp
    updated_at: Timestamp


class ManualJobResponse(JobResponseFields, ManualJobSpec):
    """A manual job as create, PUT, PATCH and GET answer it."""

    job_type: Literal["manual"] = "manual"


class CronJobResponse(JobResponseFields, CronJobSpec):
    """A cron job as create, PUT, PATCH and GET answer it: the official create reply's
    top-level `schedule`, `concurrencyPolicy` and `suspended`, and the read type's
    `settings.cron`."""

    job_type: Literal["cron"] = "cron"
    settings: CronJobSettings


# A plain union (anyOf): the published schema of a reply model is open, so a oneOf of two
# would match every reply twice; `jobType` tells them apart on validation.
JobResponse = ManualJobResponse | CronJobResponse


class ListedSpec(WireModel):
    """What a job's list entry shows of its stored spec, parsed without the rest: a page of
    jobs parses one spec per job, and the whole create body costs more than the page's
    query."""

    description: str | None = None
    disabled_ci: bool | None = Field(None, alias="disabledCI")
    tags: list[str] | None = None
    suspended: bool | None = None


class JobSummary(WireModel):
    """A job in lists (GET /jobs; the project detail adds `app_id(...)` the same way)."""

    id: str
    uid: str
    name: str
    description: str | None = None
    job_type: JobType = "manual"
    project_id: str
    disabled_ci: bool = Field(False, alias="disabledCI")
    disabled_cd: bool = Field(False, alias="disabledCD")
    tags: list[str] = Field(default_factory=list)
    suspended: bool = False


class JobListItem(JobSummary):
    app_id: str


class JobList(WireModel):
    jobs: list[JobListItem]
