from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Query

from dockyard.api.deps import SessionDep, SettingsDep, WorkerWakeDep
from dockyard.api.pagination import PageDep, pagination_of
from dockyard.api.permissions import ProjectsCreate, ProjectsDelete, ProjectsRead
from dockyard.jobs import service as jobs
from dockyard.projects import service
from dockyard.projects.models import Project
from dockyard.projects.schemas import (
    Cluster,
    CreateProjectRequest,
    ProjectDetail,
    ProjectJob,
    ProjectList,
    ProjectResponse,
    ProjectService,
    ProjectSummary,
    app_id,
)
from dockyard.services import service as services
from dockyard.teardown import service as teardown
from dockyard.wire.models import Envelope, ListEnvelope

router = APIRouter(prefix="/projects", tags=["projects"])

ProjectId = Annotated[str, Path(max_length=64, description="ID of the project")]


def _response(project: Project) -> ProjectResponse:
    return ProjectResponse.model_validate(project, from_attributes=True)


@router.post("", status_code=200)
async def create_project(
    body: CreateProjectRequest, session: SessionDep, principal: ProjectsCreate
) -> Envelope[ProjectResponse]:
    return Envelope(data=_response(await service.create_project(session, principal, body)))


@router.get("")
async def list_projects(
    session: SessionDep, principal: ProjectsRead, page: PageDep
) -> ListEnvelope[ProjectList]:
    result = await service.list_projects(session, principal, page)
    projects = [ProjectSummary.model_validate(p, from_attributes=True) for p in result.items]
    return ListEnvelope(data=ProjectList(projects=projects), pagination=pagination_of(result))


@router.get("/{projectId}")
async def get_project(
    projectId: ProjectId,
    session: SessionDep,
    settings: SettingsDep,
    _: ProjectsRead,
) -> Envelope[ProjectDetail]:
    project = await service.get_project(session, projectId)
    detail = ProjectDetail(
        **_response(project).model_dump(),
        cluster=Cluster(id=settings.team_id, name="local docker engine", namespace=project.id),
        jobs=[
            ProjectJob(**job.model_dump(), app_id=app_id(settings.team_id, project.id, job.id))
            for job in await jobs.list_job_summaries(session, project.id)
        ],
        services=[
            ProjectService(
                **item.model_dump(), app_id=app_id(settings.team_id, project.id, item.id)
            )
            for item in await services.list_service_summaries(session, project.id)
        ],
        addons=[],
    )
    return Envelope(data=detail)


@router.delete("/{projectId}")
async def delete_project(
    projectId: ProjectId,
    session: SessionDep,
    wake: WorkerWakeDep,
    _: ProjectsDelete,
    delete_child_objects: Annotated[bool, Query()] = False,
) -> Envelope[dict[str, str]]:
    """Delete the project; with `delete_child_objects`, its jobs and services as their own
    DELETEs would."""
    await teardown.delete_project(
        session, wake, projectId, delete_child_objects=delete_child_objects
    )
    return Envelope(data={})
