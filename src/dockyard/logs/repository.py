from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import insert, select
from sqlalchemy.ext.asyncio import AsyncSession

from dockyard.logs.models import LogLine


async def append(session: AsyncSession, rows: Sequence[dict[str, object]]) -> None:
    if rows:
        await session.execute(insert(LogLine), list(rows))


async def lines_of(session: AsyncSession, owner_kind: str, owner_id: str) -> list[LogLine]:
    statement = (
        select(LogLine)
        .where(LogLine.owner_kind == owner_kind, LogLine.owner_id == owner_id)
        .order_by(LogLine.pk)
    )
    return list((await session.execute(statement)).scalars())
