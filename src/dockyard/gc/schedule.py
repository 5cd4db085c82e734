"""`dockyard gc` on a schedule: a worker handler that collects every
DOCKYARD_GC_INTERVAL_SECONDS (the first time when the worker starts), what `dockyard gc`
removes, and logs it. Each worker collects what its own host holds (local image tags, build
dirs, source caches, BuildKit cache) as well as the shared registry's manifests, so every
worker runs it; but one at a time in the installation (`dockyard gc` included): a worker
that finds another process collecting skips its turn."""

from __future__ import annotations

import asyncio
import contextlib

import structlog

from dockyard.config import Settings
from dockyard.db.locks import held_alone
from dockyard.db.session import Database
from dockyard.errors import DockyardError
from dockyard.gc.service import Collected, collect
from dockyard.pacing import AtMostEvery

log = structlog.get_logger(__name__)

LOCK = "gc"
LOCK_KEY = 0x64796763  # any constant other than the migrations' own


async def collected_alone(settings: Settings, database: Database) -> Collected | None:
    """`collect`, unless another process of the installation is collecting (None)."""
    async with held_alone(database, LOCK, LOCK_KEY) as alone:
        return await collect(settings, database) if alone else None


class ScheduledCollection:
    """A collection runs in a task of its own: it may outlast the bound of a worker's tick."""

    def __init__(self, settings: Settings, database: Database) -> None:
        self.settings = settings
        self.database = database
        self.pace = AtMostEvery(settings.gc_interval_seconds)
        self.task: asyncio.Task[Collected | None] | None = None

    async def tick(self) -> None:
        if (self.task is None or self.task.done()) and self.pace.due():
            self.task = asyncio.create_task(self.collect_alone(), name="scheduled gc")

    async def collect_alone(self) -> Collected | None:
        """What this pass removed; None when another process was collecting or it failed
        (the next pass tries again)."""
        try:
            done = await collected_alone(self.settings, self.database)
            if done is None:
                log.info("gc skipped: another worker is collecting")
                return None
        except DockyardError as exc:
            log.warning("gc failed", error=exc.message)
            return None
        except Exception:
            log.exception("gc failed")
            return None
        log.info(
            "gc removed",
            manifests=[f"{item.repository}@{item.digest}" for item in done.manifests],
            local_tags=[tag for tag in done.local_tags if tag not in done.tags_in_use],
            build_dirs=done.build_dirs,
            source_caches=done.source_caches,
            networks=[net[:12] for net in done.networks if net not in done.networks_in_use],
            build_cache=done.cache,
        )
        return done

    async def shutdown(self) -> None:
        """A pass under way stops: what it has not removed yet, the next one will."""
        if self.task is not None and not self.task.done():
            self.task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self.task


def scheduled_collections(settings: Settings, database: Database) -> list[ScheduledCollection]:
    """The worker handlers of DOCKYARD_GC_INTERVAL_SECONDS: one, or none when it is 0."""
    if settings.gc_interval_seconds == 0:
        return []
    return [ScheduledCollection(settings, database)]
