"""A new row's updated_at is its created_at (one reading of the clock, never the next
millisecond); an update moves only updated_at."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

from fastapi.testclient import TestClient
from sqlalchemy import select

from dockyard.config import Settings
from dockyard.db.session import Database
from dockyard.projects.models import Project

LONG_AGO = datetime(2001, 2, 3, 4, 5, 6, 789000, tzinfo=UTC)


async def insert_and_touch(url: str) -> tuple[tuple[datetime, datetime], tuple[datetime, datetime]]:
    database = Database(url)
    try:
        async with database.sessions() as session:
            session.add(Project(id="dated", uid="u-dated", name="Dated", created_at=LONG_AGO))
            await session.commit()
            inserted = (await session.scalars(select(Project).where(Project.id == "dated"))).one()
            before = (inserted.created_at, inserted.updated_at)
            inserted.description = "touched"
            await session.commit()
            await session.refresh(inserted)
            return before, (inserted.created_at, inserted.updated_at)
    finally:
        await database.dispose()


def test_updated_at_of_a_new_row_is_its_created_at(settings: Settings, client: TestClient) -> None:
    before, after = asyncio.run(insert_and_touch(settings.resolved_database_url))
    assert before == (LONG_AGO, LONG_AGO)
    assert after[0] == LONG_AGO and after[1] > LONG_AGO
