"""Output lines of builds and runs, stored one by one with the time they were written."""

from __future__ import annotations

import asyncio
import base64
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncSession

from dockyard.db.base import utcnow
from dockyard.db.session import Database, is_unavailable
from dockyard.logs import repository
from dockyard.logs.models import LogLine

FLUSH_EVERY_SECONDS = 0.1
MAX_LINE_CHARS = 16_384


def file_texts(files: Iterable[dict[str, str]]) -> list[str]:
    """The contents of secret files (base64 `data`) as text, so a masker hides them too."""
    return [base64.b64decode(file["data"]).decode("utf-8", "replace") for file in files]


@dataclass
class LogWriter:
    """Collects the lines of one build or run, secrets redacted, and writes them in small
    batches (`run_flusher`), so a chatty build costs a few transactions a second."""

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

    def write(self, line: str) -> None:
        if self._dropping:
            return
        self._pending.append(
            {
                "owner_kind": self.owner_kind,
                "owner_id": self.owner_id,
                "container_id": self.container_id,
                "ts": utcnow(),
                "line": self.redact(line)[:MAX_LINE_CHARS],
            }
        )

    async def flush(self) -> None:
        """Store the lines written so far (callers flush before a build or run concludes, so
        whoever sees it concluded finds all its lines). While the database is unavailable
        the lines stay queued for the next flush."""
        async with self._flushing:
            rows, self._pending = self._pending, []
            if not rows:
                return
            try:
                async with self.database.sessions() as session:
                    if self.holds is not None and not await self.holds(session):
                        self.drop_rest()
                        return
                    await repository.append(session, rows)
                    await session.commit()
            except DBAPIError as exc:
                if is_unavailable(exc):
                    self._pending[:0] = rows
                raise

    def drop_rest(self) -> None:
        """Drop the lines not stored yet and any written from now on: the build or run is
        someone else's now, who reads them from the container again."""
        self._dropping = True
        self._pending = []

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


async def last_line_time(
    database: Database, owner_kind: str, owner_id: str, container_id: str
) -> datetime | None:
    """When the last stored line of that container was written (None: no line yet), so a
    worker that takes a run over follows its logs from there on."""
    async with database.sessions() as session:
        return await repository.last_ts(session, owner_kind, owner_id, container_id)
