"""All SQL of resource usage samples."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import Integer, Row, cast, delete, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from dockyard.logs.repository import LogOwners
from dockyard.usage.models import UsageSample


def add(session: AsyncSession, sample: UsageSample) -> None:
    session.add(sample)


async def count(session: AsyncSession, owner_kind: str, owner_id: str) -> int:
    statement = select(func.count()).where(
        UsageSample.owner_kind == owner_kind, UsageSample.owner_id == owner_id
    )
    return int((await session.execute(statement)).scalar_one())


async def thin(session: AsyncSession, owner_kind: str, owner_id: str) -> None:
    """Drop every other sample of the owner, oldest first, keeping the one with the highest
    memory peak and the one with the highest CPU (the peaks stay visible)."""
    mine = (UsageSample.owner_kind == owner_kind, UsageSample.owner_id == owner_id)
    numbered = (
        select(UsageSample.pk, func.row_number().over(order_by=UsageSample.pk).label("n"))
        .where(*mine)
        .subquery()
    )
    peaks = (
        select(UsageSample.pk).where(*mine).order_by(column.desc()).limit(1).scalar_subquery()
        for column in (UsageSample.memory_peak_bytes, UsageSample.cpu_cores)
    )
    odd = select(numbered.c.pk).where(numbered.c.n % 2 == 1)
    await session.execute(
        delete(UsageSample).where(UsageSample.pk.in_(odd), *(UsageSample.pk != p for p in peaks))
    )


async def of_owners(
    session: AsyncSession, owners: LogOwners, start: datetime | None, end: datetime | None
) -> Sequence[UsageSample]:
    """The samples of `owners` between `start` and `end`, oldest first."""
    statement = select(UsageSample).where(
        UsageSample.owner_kind == owners.kind,
        UsageSample.owner_id.in_(owners.ids.scalar_subquery()),
    )
    if start is not None:
        statement = statement.where(UsageSample.ts >= start)
    if end is not None:
        statement = statement.where(UsageSample.ts <= end)
    return (await session.scalars(statement.order_by(UsageSample.ts, UsageSample.pk))).all()


async def of_owner(session: AsyncSession, owner_kind: str, owner_id: str) -> Sequence[UsageSample]:
    """The samples of one run or build, oldest first."""
    statement = select(UsageSample).where(
        UsageSample.owner_kind == owner_kind, UsageSample.owner_id == owner_id
    )
    return (await session.scalars(statement.order_by(UsageSample.ts, UsageSample.pk))).all()


async def peaks_of_owners(
    session: AsyncSession, owner_kind: str, owner_ids: Sequence[str]
) -> Sequence[Row[str, float, int, int | None, int]]:
    """Per owner of `owner_ids` that has samples: its most CPU, most memory, memory limit
    and whether one of its containers was OOMKilled (1 or 0), in one query."""
    statement = (
        select(
            UsageSample.owner_id,
            func.max(UsageSample.cpu_cores),
            func.max(UsageSample.memory_peak_bytes),
            func.max(UsageSample.memory_limit_bytes),
            func.max(cast(UsageSample.oom_killed, Integer)),
        )
        .where(UsageSample.owner_kind == owner_kind, UsageSample.owner_id.in_(owner_ids))
        .group_by(UsageSample.owner_id)
    )
    return (await session.execute(statement)).all()


async def delete_of(session: AsyncSession, owners: LogOwners) -> None:
    ids = owners.ids.scalar_subquery()
    await session.execute(
        delete(UsageSample).where(
            UsageSample.owner_kind == owners.kind, UsageSample.owner_id.in_(ids)
        )
    )
