from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from dockyard.auth.models import ApiToken


async def find_by_secret_hash(session: AsyncSession, secret_hash: str) -> ApiToken | None:
    result = await session.execute(select(ApiToken).where(ApiToken.secret_hash == secret_hash))
    return result.scalar_one_or_none()


async def count_tokens(session: AsyncSession) -> int:
    return (await session.execute(select(func.count()).select_from(ApiToken))).scalar_one()


async def list_tokens(session: AsyncSession) -> list[ApiToken]:
    return list((await session.execute(select(ApiToken).order_by(ApiToken.pk))).scalars())


async def find_by_name(session: AsyncSession, name: str) -> list[ApiToken]:
    result = await session.execute(select(ApiToken).where(ApiToken.name == name))
    return list(result.scalars())
