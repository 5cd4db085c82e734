"""Build services under /v1/projects/{projectId}: create, PUT by name, PATCH, list, get,
delete, build source."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Path
from sqlalchemy.ext.asyncio import AsyncSession

from dockyard.api.deps import SecretBoxDep, SessionDep, SettingsDep, WorkerWakeDep
from dockyard.api.pagination import PageDep, pagination_of
from dockyard.api.permissions import ServicesCreate, ServicesDelete, ServicesRead, ServicesUpdate
from dockyard.auth.service import Principal
from dockyard.builds import service as builds
from dockyard.builds.service import BuildTarget
from dockyard.projects.schemas import app_id
from dockyard.services import service
from dockyard.services.models import Service
from dockyard.services.schemas import (
    BuildServicePatch,
    BuildServiceResponse,
    BuildServiceSpec,
    ServiceList,
    ServiceListItem,
)
from dockyard.services.service import StoredService
from dockyard.teardown import service as teardown
from dockyard.vcs.schemas import BuildSourceUpdate
from dockyard.wire.models import Envelope, ListEnvelope

router = APIRouter(prefix="/projects/{projectId}/services", tags=["services"])

ProjectId = Annotated[str, Path(max_length=64, description="ID of the project")]
ServiceId = Annotated[str, Path(max_length=64, description="ID of the service")]
_WITH_STATUS = builds.TargetWithStatus(service.SERVICES, "service")


def _target(found: Service) -> BuildTarget:
    return BuildTarget(found.project_id, "service", found.id)


async def _answer(
    session: AsyncSession, found: Service, body: dict[str, Any], team_id: str
) -> Envelope[BuildServiceResponse]:
    """The service as the API shows it, `status.build` from its latest build."""
    status = await builds.status_of(session, _target(found))
    return Envelope(data=service.service_response(found, body, team_id, status))


async def _answer_write(
    session: AsyncSession, principal: Principal, stored: StoredService, team_id: str
) -> Envelope[BuildServiceResponse]:
    """The reply to a write: secret values only to a token that may read them."""
    return await _answer(session, stored.row, service.SERVICES.shown(principal, stored), team_id)


@router.post("/build")
async def create_build_service(
    projectId: ProjectId,
    body: BuildServiceSpec,
    session: SessionDep,
    box: SecretBoxDep,
    settings: SettingsDep,
    principal: ServicesCreate,
) -> Envelope[BuildServiceResponse]:
    """Create a build service; 409 if a service with that name's id exists."""
    stored = await service.create_service(session, box, projectId, body)
    return await _answer_write(session, principal, stored, settings.team_id)


@router.put("/build")
async def put_build_service(
    projectId: ProjectId,
    body: BuildServiceSpec,
    session: SessionDep,
    box: SecretBoxDep,
    settings: SettingsDep,
    principal: ServicesCreate,
) -> Envelope[BuildServiceResponse]:
    """Create the build service, or replace the whole spec of the one with that name."""
    stored = await service.put_service(session, box, projectId, body)
    return await _answer_write(session, principal, stored, settings.team_id)


@router.patch("/build/{serviceId}")
async def patch_build_service(
    projectId: ProjectId,
    serviceId: ServiceId,
    body: BuildServicePatch,
    session: SessionDep,
    box: SecretBoxDep,
    settings: SettingsDep,
    principal: ServicesUpdate,
) -> Envelope[BuildServiceResponse]:
    """Merge the given fields into the build service and re-validate the whole."""
    stored = await service.patch_service(session, box, projectId, serviceId, body)
    return await _answer_write(session, principal, stored, settings.team_id)


@router.get("")
async def list_services(
    projectId: ProjectId,
    session: SessionDep,
    settings: SettingsDep,
    page: PageDep,
    _: ServicesRead,
) -> ListEnvelope[ServiceList]:
    result = await service.list_services(session, projectId, page)
    statuses = await builds.statuses_of(
        session, projectId, "service", [item.id for item in result.items]
    )
    services = [
        ServiceListItem(
            **service.summary(item).model_dump(exclude={"status"}),
            status=statuses[item.id],
            app_id=app_id(settings.team_id, projectId, item.id),
        )
        for item in result.items
    ]
    return ListEnvelope(data=ServiceList(services=services), pagination=pagination_of(result))


@router.get("/{serviceId}")
async def get_service(
    projectId: ProjectId,
    serviceId: ServiceId,
    session: SessionDep,
    settings: SettingsDep,
    _: ServicesRead,
) -> Envelope[BuildServiceResponse]:
    """The service, without the values of its secret fields."""
    found, status = await _WITH_STATUS.get(session, projectId, serviceId)
    return Envelope(data=service.service_response(found, found.spec, settings.team_id, status))


@router.delete("/{serviceId}")
async def delete_service(
    projectId: ProjectId,
    serviceId: ServiceId,
    session: SessionDep,
    wake: WorkerWakeDep,
    _: ServicesDelete,
) -> Envelope[dict[str, str]]:
    """Delete the build service with its builds, logs and CI events; the worker stops the
    builds still running."""
    await teardown.delete_service(session, wake, projectId, serviceId)
    return Envelope(data={})


@router.post("/{serviceId}/build-source")
async def update_service_build_source(
    projectId: ProjectId,
    serviceId: ServiceId,
    body: BuildSourceUpdate,
    session: SessionDep,
    box: SecretBoxDep,
    _: ServicesUpdate,
) -> Envelope[dict[str, str]]:
    """Point the build service at a git repository (merged into its current one)."""
    await service.update_build_source(session, box, projectId, serviceId, body)
    return Envelope(data={})
