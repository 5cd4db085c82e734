"""The gauges a scrape reads from the database: builds and runs not concluded by status, how
long the oldest queued one of each kind has waited, and each worker's latest heartbeat on the
work it holds. Served by GET /metrics and by the listener of DOCKYARD_METRICS_LISTEN."""

from __future__ import annotations

import asyncio
from typing import Any

import structlog
from sqlalchemy.ext.asyncio import AsyncSession

from dockyard.builds.models import Build
from dockyard.builds.status import BuildStatus
from dockyard.config import Settings
from dockyard.db import leases
from dockyard.db.base import utcnow
from dockyard.db.session import Database
from dockyard.metrics.exposition import Listener, QueueGauges
from dockyard.runs.models import JobRun
from dockyard.runs.status import RunStatus
from dockyard.worker.builds import IN_FLIGHT

log = structlog.get_logger(__name__)

# kind -> (its table, its queued status, its statuses not concluded)
KINDS: dict[str, tuple[Any, str, list[str]]] = {
    "build": (Build, BuildStatus.QUEUED.value, [BuildStatus.QUEUED.value, *IN_FLIGHT]),
    "run": (JobRun, RunStatus.QUEUED.value, [RunStatus.QUEUED.value, RunStatus.RUNNING.value]),
}
SCRAPE_TIMEOUT_SECONDS = 5.0


async def queue_gauges(session: AsyncSession) -> QueueGauges:
    now = utcnow()
    depth: dict[tuple[str, str], int] = {}
    oldest: dict[str, float] = {}
    heartbeats: dict[str, float] = {}
    for kind, (model, queued, waiting) in KINDS.items():
        counts = await leases.counts_by_status(session, model, waiting)
        depth |= {(kind, status): counts.get(status, 0) for status in waiting}
        since = await leases.oldest_update_in(session, model, queued)
        oldest[kind] = max((now - since).total_seconds(), 0.0) if since else 0.0
        for worker, at in (await leases.latest_heartbeats(session, model)).items():
            age = max((now - at).total_seconds(), 0.0)
            heartbeats[worker] = min(age, heartbeats.get(worker, age))
    return QueueGauges(depth, oldest, heartbeats)


def metrics_listener(settings: Settings, database: Database) -> Listener | None:
    """The listener of DOCKYARD_METRICS_LISTEN, started, if it is set: its scrapes read the
    gauges through this event loop (none when it does not answer in time)."""
    if settings.metrics_listen is None:
        return None
    loop = asyncio.get_running_loop()

    async def read() -> QueueGauges:
        async with database.reads() as session:
            return await queue_gauges(session)

    def gauges() -> QueueGauges | None:
        future = asyncio.run_coroutine_threadsafe(read(), loop)
        try:
            return future.result(SCRAPE_TIMEOUT_SECONDS)
        except Exception as exc:  # the scrape still answers, with the counters
            future.cancel()
            log.warning("metrics gauges not read", error=str(exc) or type(exc).__name__)
            return None

    return Listener(settings.metrics_listen, gauges).start()
