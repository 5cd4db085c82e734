"""All SQL of self-hosted VCS records."""

from __future__ import annotations

from sqlalchemy import or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from dockyard.db.repository import Page, PageRequest, paginate
from dockyard.vcs.models import SelfHostedVcs


async def get(session: AsyncSession, record_id: str) -> SelfHostedVcs | None:
    """The record whose uid (`selfHostedVcsId`) is `record_id`, else the one whose id is."""
    statement = select(SelfHostedVcs).where(
        or_(SelfHostedVcs.id == record_id, SelfHostedVcs.uid == record_id)
    )
    found = (await session.execute(statement)).scalars().all()
    return next((row for row in found if row.uid == record_id), found[0] if found else None)


async def by_uid(session: AsyncSession, uid: str) -> SelfHostedVcs | None:
    """The record a git source or a link names by `selfHostedVcsId`."""
    statement = select(SelfHostedVcs).where(SelfHostedVcs.uid == uid)
    return (await session.execute(statement)).scalar_one_or_none()


async def page(session: AsyncSession, request: PageRequest) -> Page[SelfHostedVcs]:
    return await paginate(session, select(SelfHostedVcs), SelfHostedVcs.pk, request)


async def remove(session: AsyncSession, record: SelfHostedVcs) -> None:
    await session.delete(record)
