from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Query

from dockyard.api.deps import SessionDep, SettingsDep
from dockyard.api.pagination import PageDep, pagination_of
from dockyard.api.wire import Envelope, ListEnvelope
from dockyard.projects import children, service
from dockyard.projects.auth import ProjectsCreate, ProjectsDelete, ProjectsRead
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
    held = await children.children_of(session, project.id)
    detail = ProjectDetail(
        **_response(project).model_dump(),
        cluster=Cluster(id=settings.team_id, name="local docker engine", namespace=project.id),
        jobs=[
            ProjectJob(**job.model_dump(), app_id=app_id(settings.team_id, project.id, job.id))
            for job in held.jobs
        ],
        services=[
            ProjectService(
                **item.model_dump(), app_id=app_id(settings.team_id, project.id, item.id)
            )
            for item in held.services
        ],
        addons=[],
    )
    return Envelope(data=detail)


@router.delete("/{projectId}")
async def delete_project(
    projectId: ProjectId,
    session: SessionDep,
    _: ProjectsDelete,
    delete_child_objects: Annotated[bool, Query()] = False,
) -> Envelope[dict[str, str]]:
    await children.delete_project(session, projectId, delete_child_objects=delete_child_objects)
    return Envelope(data={})
