"""The secret settings of jobs and build services on their own endpoints, behind the Secrets
permissions: runtime environment (jobs) and build arguments (jobs, build services).

GET answers the values (`show`: `this` and `all` are the resource's own, `inherited` is
empty, as dockyard has no secret groups; `replaceTemplatedValues=true` replaces `${NAME}` in
a value by the variable NAME of the same map). `.../details` lists the names without values.
POST sets the given maps whole, as PATCH would.
"""

from __future__ import annotations

import re
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Path, Query

from dockyard.api.deps import SecretBoxDep, SessionDep, requires
from dockyard.auth.permissions import Permission
from dockyard.auth.service import Principal
from dockyard.jobs import service as jobs
from dockyard.jobs.schemas import ManualJobPatch
from dockyard.services import service as services
from dockyard.services.schemas import BuildServicePatch
from dockyard.targets.schemas import (
    BuildArguments,
    BuildFiles,
    DockerSecretMounts,
    SecretFiles,
    Variables,
)
from dockyard.wire.models import Envelope, RequestModel

router = APIRouter(prefix="/projects/{projectId}", tags=["secrets"])

ProjectId = Annotated[str, Path(max_length=64)]
TargetId = Annotated[str, Path(max_length=64)]
Show = Annotated[Literal["this", "inherited", "all"], Query()]
ReplaceTemplates = Annotated[Literal["true", "false"] | None, Query()]
JobSecretsRead = Annotated[Principal, Depends(requires(Permission.JOB_SECRETS_READ))]
JobSecretsUpdate = Annotated[Principal, Depends(requires(Permission.JOB_SECRETS_UPDATE))]
ServiceSecretsRead = Annotated[Principal, Depends(requires(Permission.SERVICE_SECRETS_READ))]
ServiceSecretsUpdate = Annotated[Principal, Depends(requires(Permission.SERVICE_SECRETS_UPDATE))]

TEMPLATE = re.compile(r"\$\{([A-Za-z0-9_./-]+)\}")
VARIABLE_MAPS = frozenset({"runtimeEnvironment", "buildArguments"})


class RuntimeEnvironmentUpdate(RequestModel):
    runtime_environment: Variables
    runtime_files: SecretFiles | None = None


class BuildArgumentsUpdate(RequestModel):
    build_arguments: BuildArguments | None = None
    build_files: BuildFiles | None = None
    docker_secret_mounts: DockerSecretMounts | None = None


def _templated(variables: dict[str, str]) -> dict[str, str]:
    return {
        name: TEMPLATE.sub(lambda m: variables.get(m[1], m[0]), value)
        for name, value in variables.items()
    }


def _values(
    body: dict[str, Any], keys: tuple[str, ...], show: str, replace: str | None
) -> dict[str, Any]:
    answer = {key: {} if show == "inherited" else dict(body.get(key) or {}) for key in keys}
    if replace == "true":
        for key in VARIABLE_MAPS & answer.keys():
            answer[key] = _templated(answer[key])
    return answer


def _details(body: dict[str, Any], keys: tuple[str, ...]) -> dict[str, Any]:
    return {
        key: {
            name: {"value": None, "overriding": [], "priority": 0} for name in body.get(key) or {}
        }
        for key in keys
    }


RUNTIME = ("runtimeEnvironment", "runtimeFiles")
BUILD = ("buildArguments", "buildFiles")


# ---- jobs ----------------------------------------------------------------------------------


@router.get("/jobs/{jobId}/runtime-environment")
async def get_job_runtime_environment(
    projectId: ProjectId,
    jobId: TargetId,
    session: SessionDep,
    box: SecretBoxDep,
    _: JobSecretsRead,
    show: Show = "all",
    replaceTemplatedValues: ReplaceTemplates = None,
) -> Envelope[dict[str, Any]]:
    job = await jobs.get_job(session, projectId, jobId)
    return Envelope(data=_values(jobs.opened_body(box, job), RUNTIME, show, replaceTemplatedValues))


@router.get("/jobs/{jobId}/runtime-environment/details")
async def get_job_runtime_environment_details(
    projectId: ProjectId, jobId: TargetId, session: SessionDep, box: SecretBoxDep, _: JobSecretsRead
) -> Envelope[dict[str, Any]]:
    job = await jobs.get_job(session, projectId, jobId)
    return Envelope(data=_details(jobs.opened_body(box, job), RUNTIME))


@router.post("/jobs/{jobId}/runtime-environment")
async def set_job_runtime_environment(
    projectId: ProjectId,
    jobId: TargetId,
    body: RuntimeEnvironmentUpdate,
    session: SessionDep,
    box: SecretBoxDep,
    _: JobSecretsUpdate,
) -> Envelope[dict[str, str]]:
    patch = ManualJobPatch.model_validate(body.model_dump(by_alias=True, exclude_unset=True))
    await jobs.patch_job(session, box, projectId, jobId, patch)
    return Envelope(data={})


@router.get("/jobs/{jobId}/build-arguments")
async def get_job_build_arguments(
    projectId: ProjectId,
    jobId: TargetId,
    session: SessionDep,
    box: SecretBoxDep,
    _: JobSecretsRead,
    show: Show = "all",
    replaceTemplatedValues: ReplaceTemplates = None,
) -> Envelope[dict[str, Any]]:
    job = await jobs.get_job(session, projectId, jobId)
    return Envelope(data=_values(jobs.opened_body(box, job), BUILD, show, replaceTemplatedValues))


@router.get("/jobs/{jobId}/build-arguments/details")
async def get_job_build_argument_details(
    projectId: ProjectId, jobId: TargetId, session: SessionDep, box: SecretBoxDep, _: JobSecretsRead
) -> Envelope[dict[str, Any]]:
    job = await jobs.get_job(session, projectId, jobId)
    return Envelope(data=_details(jobs.opened_body(box, job), BUILD))


@router.post("/jobs/{jobId}/build-arguments")
async def set_job_build_arguments(
    projectId: ProjectId,
    jobId: TargetId,
    body: BuildArgumentsUpdate,
    session: SessionDep,
    box: SecretBoxDep,
    _: JobSecretsUpdate,
) -> Envelope[dict[str, str]]:
    patch = ManualJobPatch.model_validate(body.model_dump(by_alias=True, exclude_unset=True))
    await jobs.patch_job(session, box, projectId, jobId, patch)
    return Envelope(data={})


# ---- build services ------------------------------------------------------------------------


@router.get("/services/{serviceId}/build-arguments")
async def get_service_build_arguments(
    projectId: ProjectId,
    serviceId: TargetId,
    session: SessionDep,
    box: SecretBoxDep,
    _: ServiceSecretsRead,
    show: Show = "all",
    replaceTemplatedValues: ReplaceTemplates = None,
) -> Envelope[dict[str, Any]]:
    found = await services.get_service(session, projectId, serviceId)
    body = services.opened_body(box, found)
    return Envelope(data=_values(body, BUILD, show, replaceTemplatedValues))


@router.get("/services/{serviceId}/build-arguments/details")
async def get_service_build_argument_details(
    projectId: ProjectId,
    serviceId: TargetId,
    session: SessionDep,
    box: SecretBoxDep,
    _: ServiceSecretsRead,
) -> Envelope[dict[str, Any]]:
    found = await services.get_service(session, projectId, serviceId)
    return Envelope(data=_details(services.opened_body(box, found), BUILD))


@router.post("/services/{serviceId}/build-arguments")
async def set_service_build_arguments(
    projectId: ProjectId,
    serviceId: TargetId,
    body: BuildArgumentsUpdate,
    session: SessionDep,
    box: SecretBoxDep,
    _: ServiceSecretsUpdate,
) -> Envelope[dict[str, str]]:
    patch = BuildServicePatch.model_validate(body.model_dump(by_alias=True, exclude_unset=True))
    await services.patch_service(session, box, projectId, serviceId, patch)
    return Envelope(data={})
