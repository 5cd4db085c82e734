"""The query of `GET .../jobs/{jobId}/metrics` and `.../build-metrics`, and the metrics it
answers, in the official clients' shape: per metric its info and one series per container."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from dockyard.logs.schemas import MAX_DURATION_SECONDS
from dockyard.wire.models import WireModel


class MetricType(StrEnum):
    """The official clients' metric ids dockyard measures, and its own two of disk I/O."""

    CPU = "cpu"
    MEMORY = "memory"
    NETWORK_INGRESS = "networkIngress"
    NETWORK_EGRESS = "networkEgress"
    DISK_READ = "diskRead"
    DISK_WRITE = "diskWrite"


UNITS = {
    MetricType.CPU: "vCPU",
    MetricType.MEMORY: "mb",
    MetricType.NETWORK_INGRESS: "kbps",
    MetricType.NETWORK_EGRESS: "kbps",
    MetricType.DISK_READ: "kbps",
    MetricType.DISK_WRITE: "kbps",
}


class MetricsQueryParams(BaseModel):
    """`range`: every sample between startTime and endTime (or the `duration` seconds before
    endTime, default now); `single`: the last sample at or before `time` (default now)."""

    model_config = ConfigDict(extra="ignore")

    queryType: Literal["range", "single"] = "range"
    metricTypes: list[MetricType] = Field(default_factory=lambda: list(MetricType))
    startTime: datetime | None = Field(None, description="ISO 8601")
    endTime: datetime | None = Field(None, description="ISO 8601")
    time: datetime | None = Field(None, description="ISO 8601; queryType single")
    duration: int | None = Field(
        None, ge=1, le=MAX_DURATION_SECONDS, description="seconds before endTime"
    )
    containerName: str | None = Field(None, max_length=128)
    runId: str | None = Field(None, max_length=64)
    buildId: str | None = Field(None, max_length=64)


class MetricInfo(WireModel):
    metric_id: MetricType
    metric_unit: str
    metric_resolution: float


class MetricSeries(WireModel):
    """One container's points (`{timestamp, value}`); `metadata` names it (runId or buildId,
    containerName) and, for memory, its peak and limit (mb) and whether it was OOMKilled."""

    data: list[dict[str, Any]]
    metadata: dict[str, Any]


class Metric(WireModel):
    metric_info: MetricInfo
    values: list[MetricSeries]
