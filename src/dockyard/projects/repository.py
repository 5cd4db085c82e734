from __future__ import annotations

from sqlalchemy import bindparam, delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from dockyard.db.repository import Page, PageRequest, paginate
from dockyard.projects.models import Project

_BY_ID = select(Project).where(Project.id == bindparam("project_id"))  # built once


async def get(session: AsyncSession, project_id: str) -> Project | None:
    result = await session.execute(_BY_ID, {"project_id": project_id})
    return result.scalar_one_or_none()


async def page(
    session: AsyncSession, request: PageRequest, only_ids: frozenset[str] | None
) -> Page[Project]:
    statement = select(Project)
    if only_ids is not None:
        statement = statement.where(Project.id.in_(only_ids))
    return await paginate(session, statement, Project.pk, request)


async def remove(session: AsyncSession, project: Project) -> None:
    await session.execute(delete(Project).where(Project.pk == project.pk))


async def existing_ids(session: AsyncSession, project_ids: set[str]) -> set[str]:
    """Those of `project_ids` that name a project."""
    found = await session.scalars(select(Project.id).where(Project.id.in_(project_ids)))
    return set(found)


async def all_ids(session: AsyncSession) -> set[str]:
    return set((await session.scalars(select(Project.id))).all())
