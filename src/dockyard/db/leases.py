"""SQL of leased work rows (builds, runs: rows with `id`, `claimed_by`, `heartbeat_at` and
`abort_requested`): a worker renews the leases of the rows it drives and learns which of them
it must stop, and which are no longer its own; and what the metrics read of them (how many
wait in each status, since when the oldest queued one waits, each worker's last heartbeat)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, func, select, update
from sqlalchemy.ext.asyncio import AsyncSession


async def oldest_in(
    session: AsyncSession, model: Any, status: str, limit: int, *where: ColumnElement[bool]
) -> list[Any]:
    """The oldest `limit` rows in `status` (and matching `where`), locked for this transaction
    where the database can (PostgreSQL: FOR UPDATE SKIP LOCKED, so two workers never claim
    one row; SQLite has one writer anyway)."""
    statement = (
        select(model)
        .where(model.status == status, *where)
        .order_by(model.pk)
        .limit(limit)
        .with_for_update(skip_locked=True)
    )
    return list((await session.execute(statement)).scalars())


async def renew(
    session: AsyncSession, model: Any, ids: Sequence[str], worker_id: str, now: datetime
) -> set[str]:
    """The rows `ids` this worker still holds are alive as of `now`; those it holds (the
    others were taken over after its lease lapsed, or are gone)."""
    held = (model.id.in_(ids), model.claimed_by == worker_id)
    await session.execute(
        update(model)
        .where(*held)
        .values(heartbeat_at=now)
        .execution_options(synchronize_session=False)
    )
    return set((await session.execute(select(model.id).where(*held))).scalars())


async def to_stop_among(session: AsyncSession, model: Any, ids: Sequence[str]) -> set[str]:
    """Those of `ids` whose abort was requested or whose row is gone (project deleted)."""
    statement = select(model.id).where(model.id.in_(ids), model.abort_requested.is_(False))
    carry_on: set[str] = set((await session.execute(statement)).scalars())
    return set(ids) - carry_on


async def held_elsewhere(
    session: AsyncSession, model: Any, statuses: Sequence[str], worker_id: str
) -> list[Any]:
    """The rows in `statuses` that another worker than `worker_id` holds, or none does."""
    statement = select(model).where(
        model.status.in_(statuses),
        model.claimed_by.is_(None) | (model.claimed_by != worker_id),
    )
    return list((await session.execute(statement)).scalars())


async def counts_by_status(
    session: AsyncSession, model: Any, statuses: Sequence[str]
) -> dict[str, int]:
    """How many rows are in each of `statuses` (those with none are left out)."""
    statement = (
        select(model.status, func.count()).where(model.status.in_(statuses)).group_by(model.status)
    )
    rows = (await session.execute(statement)).all()
    return {str(status): count for status, count in rows if isinstance(count, int)}


async def oldest_update_in(session: AsyncSession, model: Any, status: str) -> datetime | None:
    """When the row in `status` updated longest ago was last updated (a queued row: when it
    was queued), if any row is in it."""
    statement = select(func.min(model.updated_at)).where(model.status == status)
    found: datetime | None = (await session.execute(statement)).scalar()
    return found


async def latest_heartbeats(session: AsyncSession, model: Any) -> dict[str, datetime]:
    """Each worker holding rows: the latest heartbeat it wrote on them."""
    statement = (
        select(model.claimed_by, func.max(model.heartbeat_at))
        .where(model.claimed_by.is_not(None), model.heartbeat_at.is_not(None))
        .group_by(model.claimed_by)
    )
    rows = (await session.execute(statement)).all()
    return {str(worker): at for worker, at in rows if isinstance(at, datetime)}
