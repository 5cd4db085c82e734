"""The metrics of a job's runs or builds, from their stored samples."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from itertools import groupby, pairwise
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from dockyard.db.base import utcnow
from dockyard.logs.repository import LogOwners
from dockyard.logs.schemas import in_utc, time_range
from dockyard.usage import repository
from dockyard.usage.models import UsageSample
from dockyard.usage.schemas import UNITS, Metric, MetricInfo, MetricSeries, MetricsQueryParams
from dockyard.usage.schemas import MetricType as M
from dockyard.wire.models import iso_utc

KBIT = 1000 / 8  # bytes in a kilobit
MIB = 1024 * 1024


@dataclass(frozen=True)
class Peaks:
    """The most an owner's containers used: CPU (cores) and memory (bytes), the memory
    limit, and whether one was killed for reaching it."""

    cpu_cores: float
    memory_bytes: int
    memory_limit_bytes: int | None
    oom_killed: bool


def peaks_of(samples: Sequence[UsageSample]) -> Peaks | None:
    if not samples:
        return None
    return Peaks(
        cpu_cores=max(s.cpu_cores for s in samples),
        memory_bytes=max(s.memory_peak_bytes for s in samples),
        memory_limit_bytes=samples[-1].memory_limit_bytes,
        oom_killed=any(s.oom_killed for s in samples),
    )


async def samples_of(
    session: AsyncSession, owner_kind: str, owner_id: str
) -> Sequence[UsageSample]:
    """A run's or build's samples, oldest first."""
    return await repository.of_owner(session, owner_kind, owner_id)


async def peaks_by_owner(
    session: AsyncSession, owner_kind: str, owner_ids: Sequence[str]
) -> dict[str, Peaks]:
    """The peaks of each of the runs or builds `owner_ids` that has samples."""
    rows = await repository.peaks_of_owners(session, owner_kind, owner_ids)
    return {
        owner_id: Peaks(float(cpu), int(memory), limit, bool(oom))
        for owner_id, cpu, memory, limit, oom in rows
    }


async def metrics(
    session: AsyncSession, owners: LogOwners, params: MetricsQueryParams, resolution: float
) -> dict[str, Metric]:
    """The metrics `params` ask for, of `owners`' samples (one series per container)."""
    start: datetime | None
    end: datetime | None
    if params.queryType == "single":
        start, end = None, in_utc(params.time, "time") or utcnow()
    else:
        start, end = time_range(params.startTime, params.endTime, params.duration)
    samples = await repository.of_owners(session, owners, start, end)
    if params.containerName is not None:
        samples = [s for s in samples if s.container == params.containerName]
    by_container = sorted(samples, key=lambda s: (s.container, s.ts))
    series = [
        (container, list(group))
        for container, group in groupby(by_container, key=lambda s: s.container)
    ]
    single = params.queryType == "single"
    return {
        metric.value: Metric(
            metric_info=MetricInfo(
                metric_id=metric, metric_unit=UNITS[metric], metric_resolution=resolution
            ),
            values=[
                MetricSeries(
                    data=_points(metric, rows, single),
                    metadata=_metadata(owners.kind, container, metric, rows),
                )
                for container, rows in series
            ],
        )
        for metric in dict.fromkeys(params.metricTypes)
    }


def _points(metric: M, rows: list[UsageSample], single: bool) -> list[dict[str, Any]]:
    if metric in GAUGES:
        chosen = rows[-1:] if single else rows
        return [_point(row.ts, GAUGES[metric](row)) for row in chosen]
    counter = COUNTERS[metric]
    rates = [
        _point(row.ts, (counter(row) - counter(before)) / KBIT / seconds)
        for before, row in pairwise(rows)
        if (seconds := (row.ts - before.ts).total_seconds()) > 0
    ]
    return rates[-1:] if single else rates


def _point(at: datetime, value: float) -> dict[str, Any]:
    return {"timestamp": iso_utc(at), "value": round(value, 4)}


def _metadata(kind: str, container: str, metric: M, rows: list[UsageSample]) -> dict[str, Any]:
    metadata: dict[str, Any] = {f"{kind}Id": rows[0].owner_id, "containerName": container}
    found = peaks_of(rows)
    assert found is not None
    if metric is M.MEMORY:
        metadata["peak"] = round(found.memory_bytes / MIB, 2)
        if found.memory_limit_bytes is not None:
            metadata["limit"] = round(found.memory_limit_bytes / MIB, 2)
        metadata["oomKilled"] = found.oom_killed
    if metric is M.CPU:
        metadata["peak"] = found.cpu_cores
    return metadata


GAUGES: dict[M, Callable[[UsageSample], float]] = {
    M.CPU: lambda s: s.cpu_cores,
    M.MEMORY: lambda s: s.memory_bytes / MIB,
}
COUNTERS: dict[M, Callable[[UsageSample], int]] = {
    M.NETWORK_INGRESS: lambda s: s.network_rx_bytes,
    M.NETWORK_EGRESS: lambda s: s.network_tx_bytes,
    M.DISK_READ: lambda s: s.disk_read_bytes,
    M.DISK_WRITE: lambda s: s.disk_write_bytes,
}
