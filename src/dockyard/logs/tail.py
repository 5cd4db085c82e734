"""Live log tails: one reader per followed stream, however many clients follow it.

A stream is the lines of some owners (a job's runs, one build ...). Its reader reads the
database for lines after the last one it delivered whenever a writer of this process has
stored some (`NEW_LINES`), and at least every POLL_SECONDS, and hands each batch
to every subscriber; when the stream follows one build or run and that has concluded, the
reader delivers the last lines and ends every subscription. A reader stops when its last
subscriber leaves.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Awaitable, Callable, Hashable
from dataclasses import dataclass, field
from typing import Any

import structlog
from sqlalchemy.ext.asyncio import AsyncSession

from dockyard.db.session import Database
from dockyard.logs import repository
from dockyard.logs.models import LogLine
from dockyard.logs.repository import LogOwners
from dockyard.logs.schemas import LogQuery

log = structlog.get_logger(__name__)

POLL_SECONDS = 0.05
BATCH_LINES = 1000

Concluded = Callable[[], Awaitable[bool]]


class Bell:
    """Rung by a log writer once it has stored lines, so that the tails of its process (the
    API's and the worker's share one in `dockyard up`) read them at once instead of at their
    next poll (they still poll, for the lines of other processes)."""

    def __init__(self) -> None:
        self._listeners: set[asyncio.Future[None]] = set()

    def ring(self) -> None:
        for listener in self._listeners:
            loop = listener.get_loop()
            if loop is _running_loop():
                _hear(listener)
            else:
                loop.call_soon_threadsafe(_hear, listener)

    @contextlib.asynccontextmanager
    async def listening(self) -> AsyncIterator[asyncio.Future[None]]:
        """A future done when the bell next rings."""
        listener = asyncio.get_running_loop().create_future()
        self._listeners.add(listener)
        try:
            yield listener
        finally:
            self._listeners.discard(listener)
            listener.cancel()


def _running_loop() -> asyncio.AbstractEventLoop | None:
    try:
        return asyncio.get_running_loop()
    except RuntimeError:
        return None


def _hear(listener: asyncio.Future[None]) -> None:
    if not listener.done():
        listener.set_result(None)


NEW_LINES = Bell()


@dataclass(frozen=True)
class Followed:
    """What a tail follows: the owners' lines (one stream per `key`), ending when `concluded`
    says so (never, without it)."""

    key: Hashable
    owners: LogOwners
    concluded: Concluded | None


# What a tail follows for a query, looked up in the session (NotFound when its job or service
# is gone); the builds and the runs services make one each.
Follow = Callable[[AsyncSession, LogQuery], Awaitable[Followed]]


def concluded_by(
    database: Database,
    has_concluded: Callable[[AsyncSession, str], Awaitable[bool]],
    item_id: str,
) -> Concluded:
    """Whether the followed build or run (`has_concluded` of its kind) has ended."""

    async def concluded() -> bool:
        async with database.sessions() as session:
            return await has_concluded(session, item_id)

    return concluded


@dataclass
class Stream:
    owners: LogOwners
    concluded: Concluded | None
    cursor: int
    subscribers: set[asyncio.Queue[list[LogLine] | None]] = field(default_factory=set)
    reader: asyncio.Task[None] | None = None
    # Readers are stopped, never cancelled: a query cancelled half-way leaves SQLAlchemy a
    # connection to terminate, which can hang the event loop's shutdown.
    stopping: asyncio.Event = field(default_factory=asyncio.Event)


class LogHub:
    def __init__(self, database: Database) -> None:
        self.database = database
        self.streams: dict[Hashable, Stream] = {}

    @contextlib.asynccontextmanager
    async def follow(
        self, followed: Followed
    ) -> AsyncIterator[tuple[int, asyncio.Queue[list[LogLine] | None]]]:
        """Subscribe to a stream: the pk of the last line already delivered to it (the client
        reads earlier lines itself) and a queue of the next batches (None: it has ended)."""
        key = followed.key
        stream = self.streams.get(key)
        if stream is None:
            async with self.database.sessions() as session:
                cursor = await repository.last_pk(session, followed.owners)
            stream = Stream(followed.owners, followed.concluded, cursor)
            self.streams[key] = stream
            stream.reader = asyncio.create_task(self._read(key, stream))
        queue: asyncio.Queue[list[LogLine] | None] = asyncio.Queue()
        stream.subscribers.add(queue)
        try:
            yield stream.cursor, queue
        finally:
            stream.subscribers.discard(queue)
            if not stream.subscribers and self.streams.get(key) is stream:
                del self.streams[key]
                stream.stopping.set()

    async def close(self) -> None:
        """End every stream and wait for its reader (before the database goes)."""
        streams = list(self.streams.values())
        self.streams.clear()
        for stream in streams:
            stream.stopping.set()
            for queue in stream.subscribers:
                queue.put_nowait(None)
        await asyncio.gather(*(stream.reader for stream in streams if stream.reader))

    async def _read(self, key: Hashable, stream: Stream) -> None:
        ended = False
        while not ended:
            await _pause(stream)
            if stream.stopping.is_set():
                return
            try:
                # Asked before reading, so the lines written up to the conclusion are read too.
                ended = stream.concluded is not None and await stream.concluded()
                await self._deliver_new(stream)
            except Exception:
                # A busy or restarting database must not end every tail of the stream: the
                # cursor has not moved, so the next poll reads the same lines again.
                log.warning("log tail poll failed", exc_info=True)
                ended = False
        for queue in stream.subscribers:
            queue.put_nowait(None)
        if self.streams.get(key) is stream:
            del self.streams[key]

    async def _deliver_new(self, stream: Stream) -> None:
        while True:
            async with self.database.sessions() as session:
                lines = await repository.after(session, stream.owners, stream.cursor, BATCH_LINES)
            if not lines:
                return
            stream.cursor = lines[-1].pk
            for queue in stream.subscribers:
                queue.put_nowait(lines)


async def _pause(stream: Stream) -> None:
    """Until new lines are stored in this process, the stream stops, or POLL_SECONDS pass."""
    async with NEW_LINES.listening() as rung:
        stopping = asyncio.ensure_future(stream.stopping.wait())
        waited: set[asyncio.Future[Any]] = {rung, stopping}
        try:
            await asyncio.wait(waited, timeout=POLL_SECONDS, return_when=asyncio.FIRST_COMPLETED)
        finally:
            stopping.cancel()
