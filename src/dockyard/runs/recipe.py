"""What a run runs, captured from its job and the request's overrides when it is asked for:
image, entrypoint and command, resources, limits and health checks (public), environment and
files (sealed)."""

from __future__ import annotations

import json
import shlex
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel, ConfigDict
from pydantic.alias_generators import to_camel

from dockyard.db.repository import ParsedOnce
from dockyard.jobs.schemas import (
    BuildpackRuntime,
    DeploymentOptions,
    DockerRuntime,
    ManualJobSpec,
    RuntimeStorage,
    WorkloadMetadata,
)
from dockyard.runs.plans import MIN_PIDS, plan_of
from dockyard.runs.schemas import RunBilling, StartJobRunRequest
from dockyard.targets.schemas import SecretFile

if TYPE_CHECKING:
    from dockyard.runs.models import JobRun

# Kubernetes' default terminationGracePeriodSeconds.
DEFAULT_GRACE_SECONDS = 30
SECRET_MOUNT_DIR = "/run/secrets"
ANNOTATION_PREFIX = "annotation."


class HealthProbe(BaseModel):
    """A health check of the job, as the spec's `healthChecks` entry (wire names)."""

    model_config = ConfigDict(alias_generator=to_camel, populate_by_name=True)

    protocol: str  # HTTP | CMD | TCP
    type: str  # livenessProbe | readinessProbe | startupProbe
    path: str | None = None
    cmd: str | None = None
    port: int | None = None
    initial_delay_seconds: int
    period_seconds: int
    timeout_seconds: int
    failure_threshold: int
    success_threshold: int = 1


class RunImage(BaseModel):
    """The image a run starts: a build's (in dockyard's registry, pulled with dockyard's login)
    or an external one (`deployment.external`, with its own `credentials` id, if any)."""

    reference: str
    credentials: str | None = None
    external: bool = False


class RunRecipe(BaseModel):
    image: str
    credentials: str | None = None
    # Recipes queued before this field count as a build's image.
    external: bool = False
    entrypoint: list[str] | None = None
    command: list[str] | None = None
    labels: dict[str, str] = {}
    nano_cpus: int
    memory_bytes: int
    pids_limit: int = MIN_PIDS  # runs asked for before plans had one get the smallest
    shm_size_mb: int | None = None
    storage_mb: int | None = None
    architecture: str | None = None
    backoff_limit: int
    active_deadline_seconds: int | None = None
    grace_period_seconds: int = DEFAULT_GRACE_SECONDS
    health_checks: list[HealthProbe] = []


def _parsed_recipe(run: JobRun) -> RunRecipe:
    return RunRecipe.model_validate(run.spec)


run_recipe: ParsedOnce[JobRun, RunRecipe] = ParsedOnce(lambda run: run.spec, _parsed_recipe)
"""The run's stored recipe (its `spec` column), parsed once per loaded row."""


class RunSecrets(BaseModel):
    """Sealed at rest with the run."""

    runtime_environment: dict[str, str] = {}
    runtime_files: dict[str, SecretFile] = {}
    docker_secret_mounts: dict[str, SecretFile] = {}

    def files(self) -> dict[str, SecretFile]:
        """Runtime files and, at /run/secrets/<id>, the secret mounts."""
        mounts = {
            f"{SECRET_MOUNT_DIR}/{name}": file for name, file in self.docker_secret_mounts.items()
        }
        return self.runtime_files | mounts


def _words(command: str | None) -> list[str]:
    """A custom entrypoint or command split as a POSIX shell would (quotes kept together)."""
    return shlex.split(command or "")


def process_of(
    options: DeploymentOptions | dict[str, Any],
) -> tuple[list[str] | None, list[str] | None]:
    """(entrypoint, command) of the deployment's (or its wire body's) `docker` or `buildpack`
    configType; None keeps the image's own. A custom entrypoint alone runs with no arguments,
    as in Kubernetes."""
    deployment = DeploymentOptions.model_validate(options) if isinstance(options, dict) else options
    if deployment.buildpack:
        return _buildpack_process(deployment.buildpack)
    docker = deployment.docker or DockerRuntime(config_type="default")
    entrypoint, command = _words(docker.custom_entrypoint), _words(docker.custom_command)
    match docker.config_type:
        case "customEntrypoint":
            return entrypoint, []
        case "customCommand":
            return None, command
        case "customEntrypointCustomCommand":
            return entrypoint, command
    return None, None


def _buildpack_process(buildpack: BuildpackRuntime) -> tuple[list[str] | None, list[str] | None]:
    """Cloud Native Buildpacks images start through /cnb/process/<type> (a process type) or
    /cnb/lifecycle/launcher (any command)."""
    entrypoint = _words(buildpack.custom_entrypoint)
    command = _words(buildpack.custom_command)
    match buildpack.config_type:
        case "customProcess":
            return [f"/cnb/process/{buildpack.custom_process}"], []
        case "customCommand":
            return ["/cnb/lifecycle/launcher"], command
        case "customEntrypointCustomCommand":
            return entrypoint, command
        case "originalEntrypointCustomCommand":
            return None, command
    return None, None


def labels_of(metadata: WorkloadMetadata | dict[str, Any]) -> dict[str, str]:
    """`metadata.labels` (of the model or its wire body) as container labels, `annotations` as
    `annotation.<key>` labels (object values as JSON)."""
    given = WorkloadMetadata.model_validate(metadata) if isinstance(metadata, dict) else metadata
    labels = dict(given.labels or {})
    for key, value in (given.annotations or {}).items():
        labels[f"{ANNOTATION_PREFIX}{key}"] = value if isinstance(value, str) else json.dumps(value)
    return labels


def _options(job: DeploymentOptions | None, run: DeploymentOptions | None) -> DeploymentOptions:
    """The job's deployment options, each one the run request gives replacing the job's (every
    option set is an object or a positive number: `or` picks the one given)."""
    mine, given = job or DeploymentOptions(), run or DeploymentOptions()
    return DeploymentOptions(
        buildpack=given.buildpack or mine.buildpack,
        docker=given.docker or mine.docker,
        storage=given.storage or mine.storage,
        gpu=given.gpu or mine.gpu,
        grace_period_seconds=given.grace_period_seconds or mine.grace_period_seconds,
        metadata=given.metadata or mine.metadata,
    )


def recipe_of(
    job: ManualJobSpec,
    overrides: StartJobRunRequest,
    image: RunImage,
) -> tuple[RunRecipe, RunSecrets]:
    """The recipe of a run of the job whose whole spec (secrets opened) is `job`, with the
    run request's `overrides`, running `image`."""
    options = _options(job.deployment, overrides.deployment)
    billing = overrides.billing or RunBilling()
    plan = plan_of(billing.deployment_plan or job.billing.deployment_plan)
    storage = options.storage or RuntimeStorage()
    entrypoint, command = process_of(options)
    recipe = RunRecipe(
        image=image.reference,
        credentials=image.credentials,
        external=image.external,
        entrypoint=entrypoint,
        command=command,
        labels=labels_of(options.metadata or WorkloadMetadata()),
        nano_cpus=plan.nano_cpus,
        memory_bytes=plan.memory_bytes,
        pids_limit=plan.pids_limit,
        shm_size_mb=storage.shm_size,
        storage_mb=storage.ephemeral_storage.storage_size if storage.ephemeral_storage else None,
        architecture=job.infrastructure.architecture if job.infrastructure else None,
        backoff_limit=job.backoff_limit,
        active_deadline_seconds=job.active_deadline_seconds,
        grace_period_seconds=options.grace_period_seconds or DEFAULT_GRACE_SECONDS,
        health_checks=[
            HealthProbe.model_validate(check.model_dump(exclude_none=True))
            for check in job.health_checks or []
        ],
    )
    secrets = RunSecrets(
        runtime_environment=(job.runtime_environment or {}) | (overrides.runtime_environment or {}),
        runtime_files=(job.runtime_files or {}) | (overrides.runtime_files or {}),
        docker_secret_mounts=(job.docker_secret_mounts or {})
        | (overrides.docker_secret_mounts or {}),
    )
    return recipe, secrets
