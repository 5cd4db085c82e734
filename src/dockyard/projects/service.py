"""Project rules: ids are slugs of names, unique per installation."""

from __future__ import annotations

from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from dockyard.auth.service import Principal
from dockyard.db.repository import Page, PageRequest
from dockyard.engine.registry import BASE_IMAGES
from dockyard.errors import Conflict, Forbidden, Invalid, NotFound
from dockyard.names import new_uid as new_uid
from dockyard.names import slugify as slugify
from dockyard.projects import repository
from dockyard.projects.models import Project
from dockyard.projects.schemas import CreateProjectRequest


async def create_project(
    session: AsyncSession, principal: Principal, request: CreateProjectRequest
) -> Project:
    project_id = slugify(request.name)
    if project_id == BASE_IMAGES:
        raise Invalid("name", f"the project id {BASE_IMAGES!r} is reserved for base images")
    if not principal.can_see_project(project_id):
        raise Forbidden(
            f"This token is not allowed to create project {project_id!r}",
            {"projectId": project_id},
        )
    project = Project(
        id=project_id,
        uid=new_uid(),
        name=request.name,
        description=request.description,
        color=request.color,
    )
    session.add(project)
    try:
        await session.commit()
    except IntegrityError as exc:
        await session.rollback()
        raise Conflict(
            f"A project with id {project_id!r} already exists", {"name": [request.name]}
        ) from exc
    return project


async def get_project(session: AsyncSession, project_id: str) -> Project:
    project = await repository.get(session, project_id)
    if project is None:
        raise NotFound(f"Project {project_id!r} not found", {"projectId": project_id})
    return project


async def list_projects(
    session: AsyncSession, principal: Principal, request: PageRequest
) -> Page[Project]:
    return await repository.page(session, request, principal.project_ids)


async def delete_project(session: AsyncSession, project: Project) -> None:
    await repository.remove(session, project)
    await session.commit()


async def existing_project_ids(session: AsyncSession, project_ids: set[str]) -> set[str]:
    """Those of `project_ids` that name a project (deleted ones do not)."""
    return await repository.existing_ids(session, project_ids)
