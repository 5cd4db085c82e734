"""All SQL of stored log lines."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import func, insert, select
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


async def last_ts(
    session: AsyncSession, owner_kind: str, owner_id: str, container_id: str
) -> datetime | None:
    statement = select(func.max(LogLine.ts)).where(
        LogLine.owner_kind == owner_kind,
        LogLine.owner_id == owner_id,
        LogLine.container_id == container_id,
    )
    latest: datetime | None = (await session.execute(statement)).scalar_one_or_none()
    return latest
