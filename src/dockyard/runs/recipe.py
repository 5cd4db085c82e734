"""What a run runs, captured from its job and the request's overrides when it is asked for:
image, entrypoint and command, resources, limits and health checks (public), environment and
files (sealed)."""

from __future__ import annotations

import json
import shlex
from typing import Any

from pydantic import BaseModel, ConfigDict
from pydantic.alias_generators import to_camel

from dockyard.runs.plans import MIN_PIDS, plan_of

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


class RunSecrets(BaseModel):
    """Sealed at rest with the run."""

    runtime_environment: dict[str, str] = {}
    runtime_files: dict[str, dict[str, str]] = {}
    docker_secret_mounts: dict[str, dict[str, str]] = {}

    def files(self) -> dict[str, dict[str, str]]:
        """Runtime files and, at /run/secrets/<id>, the secret mounts."""
        mounts = {
            f"{SECRET_MOUNT_DIR}/{name}": file for name, file in self.docker_secret_mounts.items()
        }
        return self.runtime_files | mounts


def _words(runtime: dict[str, Any], key: str) -> list[str]:
    """A custom entrypoint or command split as a POSIX shell would (quotes kept together)."""
    return shlex.split(runtime.get(key) or "")


def process_of(options: dict[str, Any]) -> tuple[list[str] | None, list[str] | None]:
    """(entrypoint, command) of the deployment's `docker` or `buildpack` configType; None keeps
    the image's own. A custom entrypoint alone runs with no arguments, as in Kubernetes."""
    if buildpack := options.get("buildpack"):
        return _buildpack_process(buildpack)
    docker = options.get("docker") or {"configType": "default"}
    entrypoint, command = _words(docker, "customEntrypoint"), _words(docker, "customCommand")
    match docker["configType"]:
        case "customEntrypoint":
            return entrypoint, []
        case "customCommand":
            return None, command
        case "customEntrypointCustomCommand":
            return entrypoint, command
    return None, None


def _buildpack_process(buildpack: dict[str, Any]) -> tuple[list[str] | None, list[str] | None]:
    """Cloud Native Buildpacks images start through /cnb/process/<type> (a process type) or
    /cnb/lifecycle/launcher (any command)."""
    entrypoint, command = _words(buildpack, "customEntrypoint"), _words(buildpack, "customCommand")
    match buildpack["configType"]:
        case "customProcess":
            return [f"/cnb/process/{buildpack['customProcess']}"], []
        case "customCommand":
            return ["/cnb/lifecycle/launcher"], command
        case "customEntrypointCustomCommand":
            return entrypoint, command
        case "originalEntrypointCustomCommand":
            return None, command
    return None, None


def labels_of(metadata: dict[str, Any]) -> dict[str, str]:
    """`metadata.labels` as container labels, `annotations` as `annotation.<key>` labels (object
    values as JSON)."""
    labels = dict(metadata.get("labels") or {})
    for key, value in (metadata.get("annotations") or {}).items():
        labels[f"{ANNOTATION_PREFIX}{key}"] = value if isinstance(value, str) else json.dumps(value)
    return labels


def recipe_of(
    job: dict[str, Any],
    overrides: dict[str, Any],
    image: RunImage,
) -> tuple[RunRecipe, RunSecrets]:
    """The recipe of a run of the job whose whole wire body (secrets opened) is `job`, with the
    run request's wire body `overrides`, running `image`."""
    options = job.get("deployment", {}) | overrides.get("deployment", {})
    plan = plan_of(
        (overrides.get("billing") or {}).get("deploymentPlan") or job["billing"]["deploymentPlan"]
    )
    storage = options.get("storage") or {}
    entrypoint, command = process_of(options)
    recipe = RunRecipe(
        image=image.reference,
        credentials=image.credentials,
        external=image.external,
        entrypoint=entrypoint,
        command=command,
        labels=labels_of(options.get("metadata") or {}),
        nano_cpus=plan.nano_cpus,
        memory_bytes=plan.memory_bytes,
        pids_limit=plan.pids_limit,
        shm_size_mb=storage.get("shmSize"),
        storage_mb=(storage.get("ephemeralStorage") or {}).get("storageSize"),
        architecture=(job.get("infrastructure") or {}).get("architecture"),
        backoff_limit=job["backoffLimit"],
        active_deadline_seconds=job.get("activeDeadlineSeconds"),
        grace_period_seconds=options.get("gracePeriodSeconds", DEFAULT_GRACE_SECONDS),
        health_checks=[
            HealthProbe.model_validate(check) for check in job.get("healthChecks") or []
        ],
    )
    secrets = RunSecrets(
        runtime_environment=job.get("runtimeEnvironment", {})
        | overrides.get("runtimeEnvironment", {}),
        runtime_files=job.get("runtimeFiles", {}) | overrides.get("runtimeFiles", {}),
        docker_secret_mounts=job.get("dockerSecretMounts", {})
        | overrides.get("dockerSecretMounts", {}),
    )
    return recipe, secrets
