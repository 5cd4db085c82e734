"""Output lines of builds and runs, stored in order with the time they were written."""

from __future__ import annotations

import asyncio
import base64
import contextlib
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
from dockyard.logs.tail import NEW_LINES
from dockyard.metrics.instruments import LOG_LINES_DROPPED, LOG_LINES_WRITTEN

log = structlog.get_logger(__name__)

FLUSH_EVERY_SECONDS = 0.1
# A flush of this many lines or more is followed by the next at once.
BATCH_LINES = 5_000
MAX_PENDING_LINES = 50_000
MAX_LINE_CHARS = 16_384
DROPPED_REASON = "no space left on device"


def file_texts(data: Iterable[str]) -> list[str]:
    """The contents of secret files (their base64 `data`) as text, so a masker hides them
    too."""
    return [base64.b64decode(value).decode("utf-8", "replace") for value in data]


@dataclass(frozen=True)
class LogCap:
    """How much of its containers' output one run may store: past either bound, the rest is
    dropped (counted, and said once by a marker line)."""

    lines: int
    bytes: int


@dataclass
class LogWriter:
    """Collects the lines of one build or run, secrets redacted, and stores them in batches
    (`run_flusher`): the first line after a quiet spell at once, and the first line of each
    container at once too (a tail sees a run's first line as soon as it is written, not one
    pause after dockyard's own "started" line), the rest at most every FLUSH_EVERY_SECONDS,
    so a chatty build costs a few transactions a second. At most MAX_PENDING_LINES wait: the
    container's log follower waits for `room` beyond (the engine keeps the output meanwhile).

    Past its `cap`, the container's lines are dropped, counted in `dropped`, after one marker
    line. While the database's disk is full, the batches that cannot be stored are dropped
    (the build or run goes on) and counted too; the first batch stored again starts with one
    marker line saying how many were lost."""

    database: Database
    owner_kind: str
    owner_id: str
    container_id: str
    redact: Callable[[str], str] = field(default=lambda line: line)
    # Whether the owner is still this worker's, asked in each flush's transaction: a worker
    # cut off from the database while another took its run over drops the lines it could
    # not store (the other reads them from the container), rather than store them twice.
    holds: Callable[[AsyncSession], Awaitable[bool]] | None = None
    cap: LogCap | None = None
    _pending: list[repository.NewLine] = field(default_factory=list)
    # Batches are stored one after the other, so lines keep their order.
    _flushing: asyncio.Lock = field(default_factory=asyncio.Lock)
    _waiting: asyncio.Event = field(default_factory=asyncio.Event)  # lines are pending
    _roomy: asyncio.Event = field(default_factory=asyncio.Event)  # fewer than the most
    _hurry: asyncio.Event = field(default_factory=asyncio.Event)  # a container's first line
    _hurried: str | None = None  # the container whose first line was hurried last
    _dropping: bool = False
    stored: int = 0
    dropped: int = 0
    _unreported: int = 0  # dropped for a full disk since the last marker line
    _capped: bool = False  # past the cap
    _capped_lines: int = 0
    _capped_bytes: int = 0

    def write(self, line: str, at: datetime | None = None) -> None:
        """A line of dockyard's, or (`at`: its engine's time of it) of the container's."""
        if self._dropping or (at is not None and self._past_cap(line)):
            return
        self._pending.append(self._row(self.redact(line)[:MAX_LINE_CHARS], at))
        if len(self._pending) == 1:
            self._waiting.set()
        if at is not None and self._hurried != self.container_id:
            self._hurried = self.container_id
            self._hurry.set()

    def _past_cap(self, line: str) -> bool:
        """Whether the container's line is beyond the cap (the first such one writes the
        marker)."""
        if self.cap is None:
            return False
        if not self._capped:
            self._capped_lines += 1
            self._capped_bytes += len(line)
            if self._capped_lines <= self.cap.lines and self._capped_bytes <= self.cap.bytes:
                return False
            self._capped = True
            self.write(
                f"dockyard: this {self.owner_kind} wrote more than its log cap "
                f"({self.cap.lines} lines or {self.cap.bytes} bytes): the rest of its "
                "output is dropped"
            )
        self.dropped += 1
        LOG_LINES_DROPPED.labels(self.owner_kind).inc()
        return True

    def _row(self, line: str, at: datetime | None = None) -> repository.NewLine:
        return repository.NewLine(
            self.owner_kind, self.owner_id, self.container_id, at is not None, at or utcnow(), line
        )

    async def room(self) -> None:
        """Until fewer than MAX_PENDING_LINES wait to be stored."""
        while len(self._pending) >= MAX_PENDING_LINES:
            self._roomy.clear()
            await self._roomy.wait()

    async def flush(self) -> None:
        """Store the lines written so far (callers flush before a build or run concludes, so
        whoever sees it concluded finds all its lines, but those a full disk dropped). While
        the database is unavailable the lines stay queued for the next flush."""
        async with self._flushing:
            rows, self._pending = self._pending, []
            self._waiting.clear()
            self._roomy.set()
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
                    await repository.append_many(session, rows)
                    await session.commit()
                LOG_LINES_WRITTEN.labels(self.owner_kind).inc(lines)
                self.stored += lines
                NEW_LINES.ring()
            except DBAPIError as exc:
                if is_disk_full(exc):
                    self._drop(lines)
                    return
                if is_unavailable(exc):
                    self._pending[:0] = rows[len(rows) - lines :]
                    self._waiting.set()
                raise
            if self._unreported:
                log.info("log lines stored again", owner=self._owner(), dropped=self.dropped)
                self._unreported = 0

    def drop_rest(self) -> None:
        """Drop the lines not stored yet and any written from now on: the build or run is
        someone else's now, who reads them from the container again."""
        self._dropping = True
        self._pending = []
        self._roomy.set()

    def _marker(self, rows: list[repository.NewLine]) -> repository.NewLine:
        marker = self._row(f"dockyard: {self._unreported} log lines dropped: {DROPPED_REASON}")
        if rows:
            marker = marker._replace(ts=rows[0].ts)  # in its place in time
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
        """Flush the lines as they come (see the class) until cancelled (then once more)."""
        try:
            while True:
                await self._waiting.wait()
                # A flush cut off mid-write would lose the lines it took from the queue.
                await asyncio.shield(self._flush_unless_unavailable())
                if len(self._pending) < BATCH_LINES:
                    await self._pause()
        finally:
            await asyncio.shield(self._flush_unless_unavailable())

    async def _pause(self) -> None:
        """FLUSH_EVERY_SECONDS between flushes, cut short by a container's first line."""
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(FLUSH_EVERY_SECONDS):
                await self._hurry.wait()
        self._hurry.clear()

    async def _flush_unless_unavailable(self) -> None:
        """A flush; while the database is away the lines wait for the next one (the owner's
        last flush, before it concludes, waits for the database)."""
        try:
            await self.flush()
        except DBAPIError as exc:
            if not is_unavailable(exc):
                raise
            await asyncio.sleep(FLUSH_EVERY_SECONDS)


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
