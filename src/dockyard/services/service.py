"""Build service rules: ids are slugs of names, unique per project; the stored spec is always
a valid create body; secret fields are sealed at rest, one value per field."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from dockyard.auth.permissions import Permission
from dockyard.db.repository import Page, PageRequest
from dockyard.errors import Conflict, NotFound
from dockyard.projects.schemas import app_id
from dockyard.projects.service import get_project, new_uid, slugify
from dockyard.secrets.crypto import SecretBox
from dockyard.secrets.fields import SecretFields
from dockyard.services import repository
from dockyard.services.models import Service
from dockyard.services.repository import spec_of as spec_of
from dockyard.services.schemas import (
    BuildServicePatch,
    BuildServiceResponse,
    BuildServiceSpec,
    ServiceSummary,
)
from dockyard.targets.schemas import (
    BuildpackBuildSettings,
    BuildStatusOfTarget,
    dockerfile_location,
)
from dockyard.vcs.schemas import BuildSourceUpdate, VcsData, VcsRepository
from dockyard.wire.bodies import changes_of, merged, validated, wire_body

# The fields whose values are secret: sealed at rest, shown only in replies to writes.
SECRETS = SecretFields(
    kind="service",
    paths=(
        ("buildArguments",),
        ("buildFiles",),
        ("dockerSecretMounts",),
        ("buildConfiguration", "dockerCredentials"),
    ),
    read_permission=Permission.SERVICE_SECRETS_READ,
)
# Objects a PATCH merges into (field by field); every other field it names is replaced whole.
MERGED_OBJECTS = frozenset({"billing", "vcsData", "buildSettings", "buildConfiguration"})
BUILD_ENGINES = ("dockerfile", "buildpack")
CLUSTER_NAME = "local docker engine"


@dataclass(frozen=True)
class StoredService:
    """A service just written, with its whole spec and wire body (secrets included)."""

    service: Service
    spec: BuildServiceSpec
    body: dict[str, Any]


def opened_body(box: SecretBox, service: Service) -> dict[str, Any]:
    """The service's whole wire body, secrets included."""
    return SECRETS.open(box, service.uid, service.spec, service.sealed_secrets)


def opened_spec(box: SecretBox, service: Service) -> BuildServiceSpec:
    """The service's whole spec, secrets included (`spec_of` has the stored part without)."""
    return BuildServiceSpec.model_validate(opened_body(box, service))


# ---- reads ---------------------------------------------------------------------------------


async def get_service(session: AsyncSession, project_id: str, service_id: str) -> Service:
    service = await repository.get(session, project_id, service_id)
    if service is None:
        await get_project(session, project_id)  # a missing project is the 404 to report
        raise NotFound(f"Service {service_id!r} not found", {"serviceId": service_id})
    return service


async def list_services(
    session: AsyncSession, project_id: str, request: PageRequest
) -> Page[Service]:
    await get_project(session, project_id)
    return await repository.page(session, project_id, request)


def summary(service: Service) -> ServiceSummary:
    spec = spec_of(service)
    return ServiceSummary(
        id=service.id,
        uid=service.uid,
        name=service.name,
        description=spec.description,
        project_id=service.project_id,
        disabled_ci=bool(spec.disabled_ci),
        tags=spec.tags or [],
    )


async def all_of_project(session: AsyncSession, project_id: str) -> Sequence[Service]:
    return await repository.all_of_project(session, project_id)


async def list_service_summaries(session: AsyncSession, project_id: str) -> list[ServiceSummary]:
    return [summary(service) for service in await all_of_project(session, project_id)]


def vcs_data(spec: BuildServiceSpec) -> VcsData | None:
    """`vcsData` as reads report it: the repository and, for a Dockerfile build, where the
    Dockerfile is."""
    if spec.vcs_data is None:
        return None
    return VcsData.of(spec.vcs_data, *dockerfile_location(spec.build_settings))


def service_response(
    service: Service, body: dict[str, Any], team_id: str, status: BuildStatusOfTarget
) -> BuildServiceResponse:
    return BuildServiceResponse.model_validate(
        {
            **body,
            "id": service.id,
            "appId": app_id(team_id, service.project_id, service.id),
            "projectId": service.project_id,
            "uid": service.uid,
            "vcsData": vcs_data(spec_of(service)),
            "status": status,
            "cluster": {"id": team_id, "name": CLUSTER_NAME, "namespace": service.project_id},
            "createdAt": service.created_at,
            "updatedAt": service.updated_at,
        }
    )


# ---- writes --------------------------------------------------------------------------------


def _store(box: SecretBox, service: Service, spec: BuildServiceSpec) -> StoredService:
    body = wire_body(spec)
    service.name = spec.name
    service.spec, service.sealed_secrets = SECRETS.seal(box, service.uid, body)
    return StoredService(service=service, spec=spec, body=body)


def _clash(service_id: str, name: str) -> Conflict:
    return Conflict(f"A service with id {service_id!r} already exists", {"name": [name]})


async def _commit(session: AsyncSession, stored: StoredService) -> StoredService:
    try:
        await session.commit()
    except IntegrityError as exc:
        await session.rollback()
        raise _clash(stored.service.id, stored.spec.name) from exc
    await session.refresh(stored.service)
    return stored


async def create_service(
    session: AsyncSession, box: SecretBox, project_id: str, spec: BuildServiceSpec
) -> StoredService:
    await get_project(session, project_id)
    service_id = slugify(spec.name)
    if await repository.get(session, project_id, service_id) is not None:
        raise _clash(service_id, spec.name)
    service = Service(project_id=project_id, id=service_id, uid=new_uid(), service_type="build")
    stored = _store(box, service, spec)
    session.add(service)
    return await _commit(session, stored)


async def put_service(
    session: AsyncSession, box: SecretBox, project_id: str, spec: BuildServiceSpec
) -> StoredService:
    """Create the service named by `spec`, or replace the spec of the service with that id."""
    await get_project(session, project_id)
    service = await repository.get(session, project_id, slugify(spec.name))
    if service is None:
        return await create_service(session, box, project_id, spec)
    return await _commit(session, _store(box, service, spec))


def engine_changes(spec: BuildServiceSpec, changes: dict[str, Any]) -> dict[str, Any]:
    """A PATCH's `buildSettings` (wire body) as a change of the service's oneOf: naming both
    engines (as the page's example does) changes the current one only; naming only the other
    engine switches to it, dropping the current one."""
    buildpack = isinstance(spec.build_settings, BuildpackBuildSettings)
    current = "buildpack" if buildpack else "dockerfile"
    given = [engine for engine in BUILD_ENGINES if engine in changes]
    if len(given) == len(BUILD_ENGINES):
        return {key: value for key, value in changes.items() if key in (current, "storage")}
    if given and given[0] != current:
        return changes | {current: None}
    return changes


async def patch_service(
    session: AsyncSession,
    box: SecretBox,
    project_id: str,
    service_id: str,
    patch: BuildServicePatch,
) -> StoredService:
    service = await get_service(session, project_id, service_id)
    changes = changes_of(patch)
    if patch.build_settings is not None:
        changes["buildSettings"] = engine_changes(spec_of(service), changes["buildSettings"])
    spec = validated(BuildServiceSpec, merged(opened_body(box, service), changes, MERGED_OBJECTS))
    return await _commit(session, _store(box, service, spec))


async def update_build_source(
    session: AsyncSession,
    box: SecretBox,
    project_id: str,
    service_id: str,
    source: BuildSourceUpdate,
) -> StoredService:
    """The service builds from the given repository (merged into its current one, if any). A
    build service has no branch of its own, so `projectBranch` is not kept."""
    service = await get_service(session, project_id, service_id)
    current = spec_of(service).vcs_data
    changes = {k: v for k, v in changes_of(source).items() if k != "projectBranch"}
    vcs = validated(VcsRepository, merged(wire_body(current) if current else {}, changes))
    spec = validated(BuildServiceSpec, opened_body(box, service) | {"vcsData": wire_body(vcs)})
    return await _commit(session, _store(box, service, spec))


async def drop_build_cache(session: AsyncSession, project_id: str, service_id: str) -> None:
    found = await get_service(session, project_id, service_id)
    found.build_cache_dropped = True
    await session.commit()


def cache_allowed_once(found: Service) -> bool:
    """Whether the build being started may use the cache: not the first one after the cache
    was dropped (the flag is cleared with the caller's commit)."""
    allowed = not found.build_cache_dropped
    found.build_cache_dropped = False
    return allowed


async def remove_service(session: AsyncSession, service: Service) -> None:
    """The service's row goes with the caller's commit (teardown/service.py removes what goes
    with it)."""
    await repository.remove(session, service)
