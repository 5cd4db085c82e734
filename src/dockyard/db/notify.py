"""New work wakes workers at once: a worker in the same process through an asyncio event,
and on PostgreSQL every worker process through NOTIFY on one channel, which each worker
LISTENs to. Polling (DOCKYARD_WORKER_POLL_SECONDS) stays as the fallback: a notification
lost while a listener reconnects delays work by one poll, never loses it, since the work
itself is in the database."""

from __future__ import annotations

import asyncio

import psycopg
import structlog
from sqlalchemy import text
from sqlalchemy.engine import make_url

from dockyard.db.session import Database, is_sqlite

log = structlog.get_logger(__name__)

CHANNEL = "dockyard_work"
RECONNECT_SECONDS = (0.5, 10.0)


def libpq_url(url: str) -> str:
    """The SQLAlchemy URL (`postgresql+psycopg://…`) as psycopg itself takes it."""
    return make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)


class WorkSignal:
    """What the API sets after committing new work (or an abort) for workers to act on."""

    def __init__(self, database: Database, local: asyncio.Event) -> None:
        self.database = database
        self.local = local
        self._notifying: asyncio.Task[None] | None = None
        self._again = False

    def set(self) -> None:
        self.local.set()
        if is_sqlite(self.database.url):
            return
        if self._notifying is not None and not self._notifying.done():
            # One NOTIFY in flight already; one more after it covers work committed meanwhile.
            self._again = True
            return
        self._notifying = asyncio.create_task(self._notify())

    async def _notify(self) -> None:
        while True:
            self._again = False
            try:
                async with self.database.engine.connect() as connection:
                    await connection.execute(
                        text("SELECT pg_notify(:channel, '')"), {"channel": CHANNEL}
                    )
                    await connection.commit()
            except Exception as exc:  # the workers' poll picks the work up instead
                log.warning("could not notify workers", error=str(exc))
            if not self._again:
                return

    async def close(self) -> None:
        if self._notifying is not None:
            await self._notifying


async def listen(url: str, wake: asyncio.Event) -> None:
    """Set `wake` on every notification on the work channel, for as long as it runs
    (cancel to stop); reconnects with back-off when the connection drops."""
    delay = RECONNECT_SECONDS[0]
    while True:
        try:
            async with await psycopg.AsyncConnection.connect(
                libpq_url(url), autocommit=True
            ) as connection:
                await connection.execute(f"LISTEN {CHANNEL}")
                delay = RECONNECT_SECONDS[0]
                wake.set()  # whatever was notified while no one listened
                async for _ in connection.notifies():
                    wake.set()
        except psycopg.Error as exc:
            log.warning("work notifications interrupted", error=str(exc), retry_in=delay)
        await asyncio.sleep(delay)
        delay = min(delay * 2, RECONNECT_SECONDS[1])
