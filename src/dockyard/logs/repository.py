"""All SQL of stored log lines."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, NamedTuple

from sqlalchemy import ColumnElement, Select, delete, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from dockyard.logs.models import LogLine
from dockyard.logs.schemas import LogQuery


@dataclass(frozen=True)
class LogOwners:
    """Whose lines a query reads: the builds or the runs (`kind`) whose ids `ids` selects.
    Made by the builds' or runs' repository and opaque to every other module; `ids` is asked
    again inside each query, so a tail of a job's runs also reads the runs started since."""

    kind: str
    ids: Select[str]

    def own(self) -> ColumnElement[bool]:
        """The condition on a line of being theirs."""
        return (LogLine.owner_kind == self.kind) & LogLine.owner_id.in_(self.ids.scalar_subquery())


class NewLine(NamedTuple):
    """A line to store (a tuple: a flood makes one a line, and the driver takes it as is)."""

    owner_kind: str
    owner_id: str
    container_id: str
    from_container: bool
    ts: datetime
    line: str


NEW_LINE_COLUMNS = ", ".join(NewLine._fields)
INSERT_LINE = f"INSERT INTO {LogLine.__tablename__} ({NEW_LINE_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?)"
# "2026-12-07 06:00:00.000000" (its "+00:00" cut)
SQLITE_TIME_CHARS = 26
COPY_LINES = f"COPY {LogLine.__tablename__} ({NEW_LINE_COLUMNS}) FROM STDIN"


async def append_many(session: AsyncSession, rows: Sequence[NewLine]) -> None:
    """A log writer's batch, in the session's transaction, in one statement: the driver's
    executemany on SQLite, a COPY on PostgreSQL (each many times faster than the ORM's
    insert)."""
    if not rows:
        return
    connection = await session.connection()
    if connection.dialect.name == "postgresql":
        driver: Any = (await connection.get_raw_connection()).driver_connection
        async with driver.cursor() as cursor, cursor.copy(COPY_LINES) as copy:
            for row in rows:
                await copy.write_row(row)
        return
    values = [
        (kind, owner, container, own, sqlite_time(ts), line)
        for kind, owner, container, own, ts, line in rows
    ]
    await connection.exec_driver_sql(INSERT_LINE, values)


def sqlite_time(at: datetime) -> str:
    """As SQLAlchemy stores a UtcDateTime in SQLite (its DATETIME's format, in UTC), without
    its per-value processors. The times of a flood are in UTC already: their text is cut,
    not converted."""
    if at.tzinfo is UTC:
        return at.isoformat(" ", "microseconds")[:SQLITE_TIME_CHARS]
    return at.astimezone(UTC).replace(tzinfo=None).isoformat(" ", "microseconds")


async def lines_of(session: AsyncSession, owner_kind: str, owner_id: str) -> list[LogLine]:
    statement = (
        select(LogLine)
        .where(LogLine.owner_kind == owner_kind, LogLine.owner_id == owner_id)
        .order_by(LogLine.pk)
    )
    return list((await session.execute(statement)).scalars())


async def container_log_end(
    session: AsyncSession, owner_kind: str, owner_id: str, container_id: str
) -> tuple[datetime | None, int]:
    """The engine's time of the last stored line the container wrote, and how many of its
    stored lines have that time."""
    of_container = (
        LogLine.owner_kind == owner_kind,
        LogLine.owner_id == owner_id,
        LogLine.container_id == container_id,
        LogLine.from_container.is_(True),
    )
    last = select(func.max(LogLine.ts)).where(*of_container).scalar_subquery()
    statement = select(last, func.count()).where(*of_container, LogLine.ts == last)
    at, count = (await session.execute(statement)).one()
    return at, count


async def query(
    session: AsyncSession, owners: LogOwners, wanted: LogQuery, up_to_pk: int | None = None
) -> list[LogLine]:
    """The lines of the owners that `wanted` asks for, up to line `up_to_pk` if given."""
    statement = select(LogLine).where(owners.own())
    if up_to_pk is not None:
        statement = statement.where(LogLine.pk <= up_to_pk)
    if wanted.start is not None:
        statement = statement.where(LogLine.ts >= wanted.start)
    if wanted.end is not None:
        statement = statement.where(LogLine.ts <= wanted.end)
    if wanted.container is not None:
        statement = statement.where(LogLine.container_id == wanted.container)
    if wanted.text_includes is not None:
        statement = statement.where(LogLine.line.contains(wanted.text_includes, autoescape=True))
    if wanted.text_not_includes is not None:
        statement = statement.where(
            ~LogLine.line.contains(wanted.text_not_includes, autoescape=True)
        )
    order = LogLine.pk.asc() if wanted.forward else LogLine.pk.desc()
    limited = statement.order_by(order).limit(wanted.line_limit)
    return list((await session.execute(limited)).scalars())


async def last_pk(session: AsyncSession, owners: LogOwners) -> int:
    statement = select(func.max(LogLine.pk)).where(owners.own())
    return int((await session.execute(statement)).scalar_one_or_none() or 0)


async def after(session: AsyncSession, owners: LogOwners, cursor: int, limit: int) -> list[LogLine]:
    """The owners' lines written after line `cursor`, oldest first."""
    statement = (
        select(LogLine).where(owners.own(), LogLine.pk > cursor).order_by(LogLine.pk).limit(limit)
    )
    return list((await session.execute(statement)).scalars())


async def delete_older_than(session: AsyncSession, before: datetime) -> int:
    result = await session.execute(delete(LogLine).where(LogLine.ts < before))
    return int(getattr(result, "rowcount", 0) or 0)


async def delete_beyond(session: AsyncSession, keep: int) -> int:
    """Of every build's and run's lines, all but the newest `keep`."""
    crowded = (
        select(LogLine.owner_kind, LogLine.owner_id)
        .group_by(LogLine.owner_kind, LogLine.owner_id)
        .having(func.count() > keep)
    )
    removed = 0
    for owner_kind, owner_id in (await session.execute(crowded)).all():
        of_owner = (LogLine.owner_kind == owner_kind, LogLine.owner_id == owner_id)
        oldest_kept = (
            select(LogLine.pk)
            .where(*of_owner)
            .order_by(LogLine.pk.desc())
            .offset(keep - 1)
            .limit(1)
        ).scalar_subquery()
        result = await session.execute(delete(LogLine).where(*of_owner, LogLine.pk < oldest_kept))
        removed += int(getattr(result, "rowcount", 0) or 0)
    return removed


async def delete_of_owners(session: AsyncSession, owners: LogOwners) -> None:
    await session.execute(delete(LogLine).where(owners.own()))
