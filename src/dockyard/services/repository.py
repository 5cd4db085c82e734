"""All SQL of services, and the typed view of a service's stored spec."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from dockyard.db.repository import Page, PageRequest, ParsedOnce, paginate
from dockyard.services.models import Service
from dockyard.services.schemas import BuildServiceSpec


def _parsed_spec(service: Service) -> BuildServiceSpec:
    return BuildServiceSpec.model_validate(service.spec)


spec_of: ParsedOnce[Service, BuildServiceSpec] = ParsedOnce(lambda row: row.spec, _parsed_spec)
"""The service's stored spec as a create body, parsed once per loaded row. Its secret fields
are None: they are sealed apart (`opened_spec` in the services service has them)."""


async def get(session: AsyncSession, project_id: str, service_id: str) -> Service | None:
    statement = select(Service).where(Service.project_id == project_id, Service.id == service_id)
    return (await session.execute(statement)).scalar_one_or_none()


async def page(session: AsyncSession, project_id: str, request: PageRequest) -> Page[Service]:
    statement = select(Service).where(Service.project_id == project_id)
    return await paginate(session, statement, Service.pk, request)


async def all_of_project(session: AsyncSession, project_id: str) -> Sequence[Service]:
    statement = select(Service).where(Service.project_id == project_id).order_by(Service.pk)
    return (await session.execute(statement)).scalars().all()


async def everywhere(session: AsyncSession) -> Sequence[Service]:
    """Every service of every project (webhooks match them by repository)."""
    return (await session.execute(select(Service).order_by(Service.pk))).scalars().all()


async def remove(session: AsyncSession, service: Service) -> None:
    await session.execute(delete(Service).where(Service.pk == service.pk))


async def sealed_values(session: AsyncSession) -> list[str]:
    """Every sealed value of every service (the key ids they name are in use)."""
    mappings = await session.scalars(select(Service.sealed_secrets))
    return [value for mapping in mappings for value in mapping.values()]
