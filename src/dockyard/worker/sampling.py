"""Resource usage sampling of a running container or build: one engine read every few seconds
into `usage_samples`, in a task of its own beside the container's log and wait (the build),
so that a slow engine or database delays only the next sample, never the run or its log."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from datetime import datetime

import structlog
from sqlalchemy.exc import DBAPIError

from dockyard.db.base import utcnow
from dockyard.db.session import Database
from dockyard.engine.base import ContainerState, ResourceUsage, UsageReader
from dockyard.errors import DockyardError
from dockyard.usage import repository
from dockyard.usage.models import UsageSample

log = structlog.get_logger(__name__)


class UsageSampler:
    """Samples of one owner's (a run's containers, a build's steps): `watch` one while it
    runs, then `conclude` it with its final state. With `interval` 0 it samples nothing."""

    def __init__(
        self,
        database: Database,
        containers: UsageReader,
        owner_kind: str,
        owner_id: str,
        *,
        interval: float,
        max_samples: int,
    ) -> None:
        self.database = database
        self.containers = containers
        self.owner_kind = owner_kind
        self.owner_id = owner_id
        self.interval = interval
        self.max_samples = max_samples
        self.stored = 0
        # The container watched (its name and memory limit) and its last sample.
        self.watched: tuple[str, int | None] = ("", None)
        self.last: UsageSample | None = None

    async def watch(
        self,
        source: str,
        started_at: datetime | None,
        name: str,
        limit_bytes: int | None,
        *,
        limit_cores: float | None = None,
    ) -> None:
        """Until cancelled: a sample of `source` (a running container, a build's usage key),
        stored as `name`, every `interval` seconds (the first at once), the interval doubled
        each time the samples are thinned. With `limit_cores`, no sample says more: the
        first one's window, a few ms from the start, also holds the CPU the runtime spent
        starting the container in its cgroup (runc's init), and may say 1.5 cores of a job
        held to one."""
        if not self.interval:
            return
        self.watched, self.last = (name, limit_bytes), None
        before, interval = None, self.interval
        while True:
            usage = await self._read(source)
            if usage is not None:
                sample = self._sample(name, usage, before, started_at, limit_bytes, limit_cores)
                if await self._store(sample):
                    interval *= 2
                self.last, before = sample, usage
            await asyncio.sleep(interval)

    async def conclude(self, final: ContainerState) -> None:
        """A container killed for reaching its memory limit gets a last sample that says so,
        its peak that limit (the kernel kills it there, between two samples)."""
        name, limit = self.watched
        last = self.last
        if last is not None and last.memory_limit_bytes is not None:
            limit = last.memory_limit_bytes
        if not final.oom_killed or not name or limit is None:
            return
        await self._store(
            UsageSample(
                owner_kind=self.owner_kind,
                owner_id=self.owner_id,
                container=name,
                ts=final.finished_at or utcnow(),
                cpu_cores=0.0,
                memory_bytes=limit,
                memory_peak_bytes=limit,
                memory_limit_bytes=limit,
                network_rx_bytes=last.network_rx_bytes if last else 0,
                network_tx_bytes=last.network_tx_bytes if last else 0,
                disk_read_bytes=last.disk_read_bytes if last else 0,
                disk_write_bytes=last.disk_write_bytes if last else 0,
                oom_killed=True,
            )
        )

    async def _read(self, source: str) -> ResourceUsage | None:
        try:
            return await self.containers.usage(source)
        except DockyardError as exc:  # gone, or the engine away: the run's own tasks tell
            log.debug("usage not read", source=source, error=exc.message)
            return None

    def _sample(
        self,
        name: str,
        usage: ResourceUsage,
        before: ResourceUsage | None,
        started_at: datetime | None,
        limit_bytes: int | None,
        limit_cores: float | None,
    ) -> UsageSample:
        cores = _cores(usage, before, started_at)
        return UsageSample(
            owner_kind=self.owner_kind,
            owner_id=self.owner_id,
            container=name,
            ts=usage.at,
            cpu_cores=cores if limit_cores is None else min(cores, limit_cores),
            memory_bytes=usage.memory_bytes,
            memory_peak_bytes=max(usage.memory_peak_bytes or 0, usage.memory_bytes),
            memory_limit_bytes=limit_bytes or usage.memory_limit_bytes,
            network_rx_bytes=usage.network_rx_bytes,
            network_tx_bytes=usage.network_tx_bytes,
            disk_read_bytes=usage.disk_read_bytes,
            disk_write_bytes=usage.disk_write_bytes,
        )

    async def _store(self, sample: UsageSample) -> bool:
        """Write the sample (given up when the database is away); whether the owner's
        samples were thinned to make room."""
        thinned = False
        try:
            async with self.database.sessions() as session:
                repository.add(session, sample)
                self.stored += 1
                if self.stored >= self.max_samples:
                    await repository.thin(session, self.owner_kind, self.owner_id)
                    self.stored = await repository.count(session, self.owner_kind, self.owner_id)
                    thinned = True
                await session.commit()
        except (DBAPIError, OSError) as exc:
            log.warning("usage sample not stored", owner=self.owner_id, error=str(exc))
        return thinned


def _cores(
    usage: ResourceUsage, before: ResourceUsage | None, started_at: datetime | None
) -> float:
    """CPU cores used since the sample before (the first: since the source started)."""
    since = before.at if before is not None else started_at
    if since is None:
        return 0.0
    cpu = usage.cpu_seconds - (before.cpu_seconds if before is not None else 0.0)
    seconds = (usage.at - since).total_seconds()
    return round(max(cpu, 0.0) / seconds, 3) if seconds > 0 else 0.0


@contextlib.asynccontextmanager
async def sampling(sampler: UsageSampler, source: str, name: str) -> AsyncIterator[None]:
    """`sampler` watches `source` (from now, no limit) while the block runs."""
    watching = asyncio.create_task(sampler.watch(source, utcnow(), name, None))
    try:
        yield
    finally:
        watching.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await watching
