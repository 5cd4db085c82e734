"""All SQL of VCS links."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from dockyard.vcslinks.models import VcsLink


async def get(session: AsyncSession, link_id: str) -> VcsLink | None:
    """The link whose uid (`vcsLinkId`) is `link_id`, else the one whose id (slug) is."""
    statement = select(VcsLink).where(or_(VcsLink.id == link_id, VcsLink.uid == link_id))
    found = (await session.execute(statement)).scalars().all()
    return next((link for link in found if link.uid == link_id), found[0] if found else None)


async def by_uid(session: AsyncSession, uid: str) -> VcsLink | None:
    """The link a job or service names by `vcsLinkId`."""
    statement = select(VcsLink).where(VcsLink.uid == uid)
    return (await session.execute(statement)).scalar_one_or_none()


async def everywhere(session: AsyncSession) -> Sequence[VcsLink]:
    """Every link, oldest first (a team has a handful)."""
    return (await session.scalars(select(VcsLink).order_by(VcsLink.pk))).all()


async def remove(session: AsyncSession, link: VcsLink) -> None:
    await session.delete(link)


async def sealed_values(session: AsyncSession) -> list[str]:
    """Every link's sealed secret (the key ids they name are in use)."""
    return list((await session.scalars(select(VcsLink.sealed_secret))).all())
