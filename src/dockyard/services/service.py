"""Build service rules: a PATCH of `buildSettings` switches or changes the build engine; the
build source has no branch; the build cache can be dropped once. What build services share
with jobs (ids, secrets, create, put, patch) is in targets/service.py."""

from __future__ import annotations

from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from dockyard.auth.permissions import Permission
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
from dockyard.targets.service import Catalog, Stored
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
StoredService = Stored[Service, BuildServiceSpec]

SERVICES: Catalog[Service, BuildServiceSpec] = Catalog(
    table=repository.TABLE,
    noun="service",
    id_field="serviceId",
    secrets=SECRETS,
    new_row=lambda project_id, service_id, uid: Service(
        project_id=project_id, id=service_id, uid=uid, service_type="build"
    ),
    name_of=lambda spec: spec.name,
    vcs_of=lambda spec: spec.vcs_data,
    credentials_of=lambda spec: list(
        spec.build_configuration.docker_credentials or [] if spec.build_configuration else []
    ),
)
get_service = SERVICES.get
list_services = SERVICES.page
all_of_project = SERVICES.all_of_project
opened_body = SERVICES.opened_body
opened_spec = SERVICES.opened_spec
create_service = SERVICES.create
put_service = SERVICES.put
remove_service = SERVICES.remove


# ---- reads ---------------------------------------------------------------------------------


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
        body
        | SERVICES.reply_fields(service, team_id, status)
        | {"vcsData": vcs_data(spec_of(service))}
    )


# ---- writes --------------------------------------------------------------------------------


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
    return await SERVICES.patch(session, box, service, changes, MERGED_OBJECTS)


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
    return await SERVICES.replace(session, box, service, spec)


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
