"""All SQL of a build target's table (jobs, services), and the typed view of a stored spec."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Generic, TypeVar

from pydantic import BaseModel
from sqlalchemy import bindparam, delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from dockyard.db.repository import Keyset, Page, PageRequest, ParsedOnce
from dockyard.targets.models import TargetColumns

Row = TypeVar("Row", bound=TargetColumns)
Spec = TypeVar("Spec", bound=BaseModel)


class TargetTable(Generic[Row, Spec]):
    """The table of `model`, whose stored spec is a `spec_type(row)` create body."""

    def __init__(self, model: type[Row], spec_type: Callable[[Row], type[Spec]]) -> None:
        self.model = model
        self.spec_type = spec_type
        self.spec_of: ParsedOnce[Row, Spec] = ParsedOnce(lambda row: row.spec, self._parsed_spec)
        """The row's stored spec, parsed once per loaded row. Its secret fields are None: they
        are sealed apart (the target's `opened_spec` has them)."""
        # Built once: building a statement costs more than running it on a warm cache.
        self._by_id = select(model).where(
            model.project_id == bindparam("project_id"), model.id == bindparam("target_id")
        )
        self._pages = Keyset(
            select(model).where(model.project_id == bindparam("project_id")), model.pk
        )

    def _parsed_spec(self, row: Row) -> Spec:
        return self.spec_type(row).model_validate(row.spec)

    async def get(self, session: AsyncSession, project_id: str, target_id: str) -> Row | None:
        parameters = {"project_id": project_id, "target_id": target_id}
        return (await session.execute(self._by_id, parameters)).scalar_one_or_none()

    async def page(self, session: AsyncSession, project_id: str, request: PageRequest) -> Page[Row]:
        return await self._pages.page(session, request, {"project_id": project_id})

    async def all_of_project(self, session: AsyncSession, project_id: str) -> Sequence[Row]:
        model = self.model
        statement = select(model).where(model.project_id == project_id).order_by(model.pk)
        return (await session.execute(statement)).scalars().all()

    async def everywhere(self, session: AsyncSession) -> Sequence[Row]:
        """Every row of every project (webhooks match them by repository)."""
        return (await session.execute(select(self.model).order_by(self.model.pk))).scalars().all()

    async def remove(self, session: AsyncSession, row: Row) -> None:
        await session.execute(delete(self.model).where(self.model.pk == row.pk))

    async def sealed_values(self, session: AsyncSession) -> list[str]:
        """Every sealed value of every row (the key ids they name are in use)."""
        mappings = await session.scalars(select(self.model.sealed_secrets))
        return [value for mapping in mappings for value in mapping.values()]
