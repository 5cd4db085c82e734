"""All SQL of registry credentials, and the typed view of their stored spec."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from dockyard.db.repository import Page, PageRequest, ParsedOnce, paginate
from dockyard.registries.models import RegistryCredential
from dockyard.registries.schemas import RegistrySpec


def _parsed_spec(row: RegistryCredential) -> RegistrySpec:
    return RegistrySpec.model_validate(row.spec)


spec_of: ParsedOnce[RegistryCredential, RegistrySpec] = ParsedOnce(
    lambda row: row.spec, _parsed_spec
)
"""The credentials' stored spec (no password), parsed once per loaded row."""


async def get(session: AsyncSession, credentials_id: str) -> RegistryCredential | None:
    statement = select(RegistryCredential).where(RegistryCredential.id == credentials_id)
    return (await session.execute(statement)).scalar_one_or_none()


async def of_ids(session: AsyncSession, ids: Sequence[str]) -> dict[str, RegistryCredential]:
    statement = select(RegistryCredential).where(RegistryCredential.id.in_(ids))
    return {row.id: row for row in (await session.execute(statement)).scalars()}


async def page(session: AsyncSession, request: PageRequest) -> Page[RegistryCredential]:
    return await paginate(session, select(RegistryCredential), RegistryCredential.pk, request)


async def remove(session: AsyncSession, row: RegistryCredential) -> None:
    await session.delete(row)


async def everywhere(session: AsyncSession) -> Sequence[RegistryCredential]:
    """Every row (re-sealing reads them all)."""
    return (await session.scalars(select(RegistryCredential))).all()


async def sealed_values(session: AsyncSession) -> list[str]:
    """Every sealed password (the key ids they name are in use)."""
    return list((await session.scalars(select(RegistryCredential.sealed_password))).all())
