"""The log query of `GET .../logs` and `.../build-logs`, and the lines it answers."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Annotated, Literal

from fastapi import Depends, Query

from dockyard.api.wire import Timestamp, WireModel
from dockyard.db.base import utcnow
from dockyard.errors import Invalid

DEFAULT_LINE_LIMIT = 1000
MAX_LINE_LIMIT = 10_000


class LogEntry(WireModel):
    container_id: str
    log: str
    ts: Timestamp


@dataclass(frozen=True)
class LogQuery:
    start: datetime | None
    end: datetime | None
    line_limit: int
    forward: bool
    text_includes: str | None
    text_not_includes: str | None
    container: str | None
    build_id: str | None
    run_id: str | None


def log_query(
    queryType: Annotated[Literal["range", "tail"], Query()] = "range",
    startTime: Annotated[datetime | None, Query(description="ISO 8601")] = None,
    endTime: Annotated[datetime | None, Query(description="ISO 8601")] = None,
    duration: Annotated[int | None, Query(ge=1, description="seconds before endTime")] = None,
    lineLimit: Annotated[int, Query(ge=1, le=MAX_LINE_LIMIT)] = DEFAULT_LINE_LIMIT,
    direction: Annotated[Literal["forward", "backward"], Query()] = "backward",
    textIncludes: Annotated[str | None, Query(max_length=1000)] = None,
    textNotIncludes: Annotated[str | None, Query(max_length=1000)] = None,
    containerName: Annotated[str | None, Query(max_length=128)] = None,
    buildId: Annotated[str | None, Query(max_length=64)] = None,
    runId: Annotated[str | None, Query(max_length=64)] = None,
    type: Annotated[str | None, Query(max_length=32, description="runtime or build")] = None,
) -> LogQuery:
    """`range`: lines between startTime and endTime (or the `duration` seconds before endTime,
    default now), at most lineLimit, `backward` (newest first) or `forward` (oldest first)."""
    if queryType == "tail":
        raise Invalid("queryType", "tail is served over a WebSocket on the same path")
    start, end = _utc(startTime), _utc(endTime)
    if duration is not None and start is None:
        start = (end or utcnow()) - timedelta(seconds=duration)
    if start is not None and end is not None and start > end:
        raise Invalid("startTime", "must not be after endTime")
    return LogQuery(
        start=start,
        end=end,
        line_limit=lineLimit,
        forward=direction == "forward",
        text_includes=textIncludes,
        text_not_includes=textNotIncludes,
        container=containerName,
        build_id=buildId,
        run_id=runId,
    )


def _utc(moment: datetime | None) -> datetime | None:
    """A time without a zone is read as UTC."""
    if moment is None or moment.tzinfo is not None:
        return moment
    return moment.replace(tzinfo=UTC)


LogQueryDep = Annotated[LogQuery, Depends(log_query)]
