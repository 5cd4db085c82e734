from __future__ import annotations

from datetime import datetime

from sqlalchemy import bindparam, func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from dockyard.auth.models import ApiToken
from dockyard.db.repository import Page, PageRequest, paginate

_BY_SECRET_HASH = select(ApiToken).where(ApiToken.secret_hash == bindparam("hash"))  # built once


async def find_by_secret_hash(session: AsyncSession, secret_hash: str) -> ApiToken | None:
    result = await session.execute(_BY_SECRET_HASH, {"hash": secret_hash})
    return result.scalar_one_or_none()


async def count_tokens(session: AsyncSession) -> int:
    return (await session.execute(select(func.count()).select_from(ApiToken))).scalar_one()


async def list_tokens(session: AsyncSession) -> list[ApiToken]:
    return list((await session.execute(select(ApiToken).order_by(ApiToken.pk))).scalars())


async def find_by_name(session: AsyncSession, name: str) -> list[ApiToken]:
    """The tokens named `name`, or the one whose id it is."""
    statement = select(ApiToken).where(or_(ApiToken.name == name, ApiToken.uid == name))
    return list((await session.execute(statement)).scalars())


async def find_by_uid(session: AsyncSession, uid: str) -> ApiToken | None:
    return (await session.execute(select(ApiToken).where(ApiToken.uid == uid))).scalar_one_or_none()


async def page(
    session: AsyncSession, request: PageRequest, *, active_at: datetime | None
) -> Page[ApiToken]:
    """Tokens by age; with `active_at`, only those neither revoked nor expired then."""
    statement = select(ApiToken)
    if active_at is not None:
        statement = statement.where(
            ApiToken.revoked_at.is_(None),
            or_(ApiToken.expires_at.is_(None), ApiToken.expires_at > active_at),
        )
    return await paginate(session, statement, ApiToken.pk, request)
