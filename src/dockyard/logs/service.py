"""Output lines of builds and runs, stored one by one with the time they were written."""

from __future__ import annotations

import asyncio
import base64
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

import structlog
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncSession

from dockyard.db.base import utcnow
from dockyard.db.session import Database, is_unavailable
from dockyard.db.space import is_disk_full
from dockyard.logs import repository
from dockyard.logs.models import LogLine
from dockyard.metrics.instruments import LOG_LINES_DROPPED, LOG_LINES_WRITTEN

log = structlog.get_logger(__name__)

FLUSH_EVERY_SECONDS = 0.1
MAX_LINE_CHARS = 16_384
DROPPED_REASON = "no space left on device"


def file_texts(data: Iterable[str]) -> list[str]:
    """The contents of secret files (their base64 `data`) as text, so a masker hides them
    too."""
    return [base64.b64decode(value).decode("utf-8", "replace") for value in data]


@dataclass
class LogWriter:
    """Collects the lines of one build or run, secrets redacted, and writes them in small
    batches (`run_flusher`), so a chatty build costs a few transactions a second.

    While the database's disk is full, the batches that cannot be stored are dropped (the
    build or run goes on) and counted in `dropped`; the first batch stored again starts with
    one marker line saying how many were lost."""

    database: Database
    owner_kind: str
    owner_id: str
    container_id: str
    redact: Callable[[str], str] = field(default=lambda line: line)
    # Whether the owner is still this worker's, asked in each flush's transaction: a worker
    # cut off from the database while another took its run over drops the lines it could
    # not store (the other reads them from the container), rather than store them twice.
    holds: Callable[[AsyncSession], Awaitable[bool]] | None = None
    _pending: list[dict[str, object]] = field(default_factory=list)
    # Batches are stored one after the other, so lines keep their order.
    _flushing: asyncio.Lock = field(default_factory=asyncio.Lock)
    _dropping: bool = False
    dropped: int = 0
    _unreported: int = 0  # dropped since the last marker line

    def write(self, line: str, at: datetime | None = None) -> None:
        """A line of dockyard's, or (`at`: its engine's time of it) of the container's."""
        if not self._dropping:
            self._pending.append(self._row(self.redact(line)[:MAX_LINE_CHARS], at))

    def _row(self, line: str, at: datetime | None = None) -> dict[str, object]:
        return {
            "owner_kind": self.owner_kind,
            "owner_id": self.owner_id,
            "container_id": self.container_id,
            "from_container": at is not None,
            "ts": at or utcnow(),
            "line": line,
        }

    async def flush(self) -> None:
        """Store the lines written so far (callers flush before a build or run concludes, so
        whoever sees it concluded finds all its lines, but those a full disk dropped). While
        the database is unavailable the lines stay queued for the next flush."""
        async with self._flushing:
            rows, self._pending = self._pending, []
            lines = len(rows)
            if self._unreported:
                rows.insert(0, self._marker(rows))
            if not rows:
                return
            try:
                async with self.database.sessions() as session:
                    if self.holds is not None and not await self.holds(session):
                        self.drop_rest()
                        return
                    await repository.append(session, rows)
                    await session.commit()
                LOG_LINES_WRITTEN.labels(self.owner_kind).inc(lines)
            except DBAPIError as exc:
                if is_disk_full(exc):
                    self._drop(lines)
                    return
                if is_unavailable(exc):
                    self._pending[:0] = rows[len(rows) - lines :]
                raise
            if self._unreported:
                log.info("log lines stored again", owner=self._owner(), dropped=self.dropped)
                self._unreported = 0

    def drop_rest(self) -> None:
        """Drop the lines not stored yet and any written from now on: the build or run is
        someone else's now, who reads them from the container again."""
        self._dropping = True
        self._pending = []

    def _marker(self, rows: list[dict[str, object]]) -> dict[str, object]:
        marker = self._row(f"dockyard: {self._unreported} log lines dropped: {DROPPED_REASON}")
        if rows:
            marker["ts"] = rows[0]["ts"]  # in its place in time
        return marker

    def _owner(self) -> str:
        return f"{self.owner_kind} {self.owner_id}"

    def _drop(self, count: int) -> None:
        if not self._unreported:
            log.warning("log lines dropped: the database's disk is full", owner=self._owner())
        self.dropped += count
        self._unreported += count
        LOG_LINES_DROPPED.labels(self.owner_kind).inc(count)

    async def run_flusher(self) -> None:
        """Flush every FLUSH_EVERY_SECONDS until cancelled (then once more)."""
        try:
            while True:
                await asyncio.sleep(FLUSH_EVERY_SECONDS)
                # A flush cut off mid-write would lose the lines it took from the queue.
                await asyncio.shield(self._flush_unless_unavailable())
        finally:
            await asyncio.shield(self._flush_unless_unavailable())

    async def _flush_unless_unavailable(self) -> None:
        """A flush; while the database is away the lines wait for the next one (the owner's
        last flush, before it concludes, waits for the database)."""
        try:
            await self.flush()
        except DBAPIError as exc:
            if not is_unavailable(exc):
                raise


async def lines_of(session: AsyncSession, owner_kind: str, owner_id: str) -> list[LogLine]:
    return await repository.lines_of(session, owner_kind, owner_id)


@dataclass
class LogCursor:
    """Where a container's lines (as far as they are stored, or written) end: the engine's
    time of the last one and how many lines have that time. The engine's log read again from
    `resume_from` repeats those: `reader` skips them."""

    at: datetime | None = None
    repeats: int = 0

    @property
    def resume_from(self) -> datetime | None:
        # A µs before: the engine's times have ns, the stored ones µs.
        return None if self.at is None else self.at - timedelta(microseconds=1)

    def reader(self) -> Callable[[datetime], bool]:
        """For one read from `resume_from`: whether the line at that time is new (and then
        moves the cursor on)."""
        start, skip = self.at, self.repeats

        def is_new(at: datetime) -> bool:
            nonlocal skip
            if start is not None and at < start:
                return False
            if at == start and skip > 0:
                skip -= 1
                return False
            self._move(at)
            return True

        return is_new

    def _move(self, at: datetime) -> None:
        if self.at is None or at > self.at:
            self.at, self.repeats = at, 1
        elif at == self.at:
            self.repeats += 1


async def container_log_cursor(
    database: Database, owner_kind: str, owner_id: str, container_id: str
) -> LogCursor:
    """Where the stored lines of that container end, so a worker that takes a run over
    follows its log from there on."""
    async with database.sessions() as session:
        at, repeats = await repository.container_log_end(
            session, owner_kind, owner_id, container_id
        )
    return LogCursor(at, repeats)
