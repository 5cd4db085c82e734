"""SQL of leased work rows (builds, runs: rows with `id`, `claimed_by`, `heartbeat_at` and
`abort_requested`): a worker renews the leases of the rows it drives and learns which of them
it must stop."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession


async def renew(
    session: AsyncSession, model: Any, ids: Sequence[str], worker_id: str, now: datetime
) -> None:
    """The rows `ids` this worker still holds are alive as of `now`."""
    await session.execute(
        update(model)
        .where(model.id.in_(ids), model.claimed_by == worker_id)
        .values(heartbeat_at=now)
        .execution_options(synchronize_session=False)
    )


async def to_stop_among(session: AsyncSession, model: Any, ids: Sequence[str]) -> set[str]:
    """Those of `ids` whose abort was requested or whose row is gone (project deleted)."""
    statement = select(model.id).where(model.id.in_(ids), model.abort_requested.is_(False))
    carry_on: set[str] = set((await session.execute(statement)).scalars())
    return set(ids) - carry_on
