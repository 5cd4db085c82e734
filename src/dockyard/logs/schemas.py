"""The log query of `GET .../logs` and `.../build-logs`, and the lines it answers."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from dockyard.db.base import utcnow
from dockyard.errors import Invalid
from dockyard.wire.models import Timestamp, WireModel

DEFAULT_LINE_LIMIT = 1000
MAX_LINE_LIMIT = 10_000
MAX_DURATION_SECONDS = 100 * 366 * 86_400  # a century: far beyond any retention


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
    log_type: str | None = None

    def keeps(self, line: str, container_id: str) -> bool:
        """Whether a line passes the text and container filters (for lines of a live tail)."""
        return (
            (self.text_includes is None or self.text_includes in line)
            and (self.text_not_includes is None or self.text_not_includes not in line)
            and (self.container is None or self.container == container_id)
        )


class LogQueryParams(BaseModel):
    """The query string of `.../logs` and `.../build-logs` (REST and WebSocket alike)."""

    model_config = ConfigDict(extra="ignore")

    queryType: Literal["range", "tail"] = "range"
    startTime: datetime | None = Field(None, description="ISO 8601")
    endTime: datetime | None = Field(None, description="ISO 8601")
    duration: int | None = Field(
        None, ge=1, le=MAX_DURATION_SECONDS, description="seconds before endTime"
    )
    lineLimit: int = Field(DEFAULT_LINE_LIMIT, ge=1, le=MAX_LINE_LIMIT)
    direction: Literal["forward", "backward"] = "backward"
    textIncludes: str | None = Field(None, max_length=1000)
    textNotIncludes: str | None = Field(None, max_length=1000)
    containerName: str | None = Field(None, max_length=128)
    buildId: str | None = Field(None, max_length=64)
    runId: str | None = Field(None, max_length=64)
    type: str | None = Field(None, max_length=32, description="runtime or build")


def to_query(params: LogQueryParams) -> LogQuery:
    """`range`: lines between startTime and endTime (or the `duration` seconds before endTime,
    default now), at most lineLimit, `backward` (newest first) or `forward` (oldest first).
    `tail` (over a WebSocket): the last lineLimit lines, then new ones as they come."""
    start, end = time_range(params.startTime, params.endTime, params.duration)
    return LogQuery(
        start=start,
        end=end,
        line_limit=params.lineLimit,
        forward=params.direction == "forward",
        text_includes=params.textIncludes,
        text_not_includes=params.textNotIncludes,
        container=params.containerName,
        build_id=params.buildId,
        run_id=params.runId,
        log_type=params.type,
    )


def time_range(
    start_time: datetime | None, end_time: datetime | None, duration: int | None
) -> tuple[datetime | None, datetime | None]:
    """startTime and endTime in UTC, or the `duration` seconds before endTime (default now);
    Invalid when they are out of order or out of the calendar."""
    start, end = in_utc(start_time, "startTime"), in_utc(end_time, "endTime")
    if duration is not None and start is None:
        start = _before(end or utcnow(), duration)
    if start is not None and end is not None and start > end:
        raise Invalid("startTime", "must not be after endTime")
    return start, end


def log_query_of(raw: dict[str, str]) -> LogQuery:
    """A WebSocket's query string as a LogQuery; Invalid naming the first bad parameter."""
    try:
        return to_query(LogQueryParams.model_validate(raw))
    except ValidationError as exc:
        error = exc.errors()[0]
        raise Invalid(".".join(str(part) for part in error["loc"]), error["msg"]) from None


def in_utc(moment: datetime | None, name: str) -> datetime | None:
    """The time in UTC (one without a zone is read as UTC); Invalid when that leaves the
    calendar (9999-12-31T23:59:59-05:00)."""
    if moment is None:
        return None
    try:
        return moment.astimezone(UTC) if moment.tzinfo else moment.replace(tzinfo=UTC)
    except OverflowError:
        raise Invalid(name, "is outside the supported range of times") from None


def _before(end: datetime, seconds: int) -> datetime:
    try:
        return end - timedelta(seconds=seconds)
    except OverflowError:
        raise Invalid("duration", "reaches before the supported range of times") from None
