"""The dashboard's charts, inline SVG: the durations of a job's or service's latest builds or
runs as bars (oldest left), each coloured by its outcome (named in its tooltip too), and the
success rate; a run's CPU and memory over time as lines; a job's runs' memory peaks as bars
against the plan's limit. Pure functions: data in, markup out."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum
from html import escape

WIDTH = 300
HEIGHT = 80
GAP = 2
MIN_BAR = 2  # a bar of a zero-length duration still shows
MIN_SLOTS = 25  # bars are never wider than for this many points


class Outcome(StrEnum):
    SUCCESS = "success"
    FAILURE = "failure"
    RUNNING = "running"

    @classmethod
    def of(cls, concluded: bool, succeeded: bool) -> Outcome:
        if not concluded:
            return cls.RUNNING
        return cls.SUCCESS if succeeded else cls.FAILURE


@dataclass(frozen=True)
class ChartPoint:
    """One build or run: what it is called, how long it took (so far), how it ended."""

    label: str
    seconds: float
    outcome: Outcome


def success_rate(points: Sequence[ChartPoint]) -> float | None:
    """The share of concluded points that succeeded; None when none has concluded."""
    concluded = [point for point in points if point.outcome is not Outcome.RUNNING]
    if not concluded:
        return None
    return sum(point.outcome is Outcome.SUCCESS for point in concluded) / len(concluded)


def format_seconds(seconds: float) -> str:
    """12s, 3m 05s, 2h 07m."""
    whole = int(seconds)
    if whole < 60:
        return f"{whole}s"
    minutes, secs = divmod(whole, 60)
    if minutes < 60:
        return f"{minutes}m {secs:02d}s"
    hours, minutes = divmod(minutes, 60)
    return f"{hours}h {minutes:02d}m"


def summary(points: Sequence[ChartPoint], noun: str) -> str:
    """What the chart says, in words (its accessible name)."""
    rate = success_rate(points)
    shown = f"{len(points)} {noun}{'' if len(points) == 1 else 's'}"
    if rate is None:
        return f"Durations of the last {shown}; none has concluded"
    longest = max(point.seconds for point in points)
    return (
        f"Durations of the last {shown}, longest {format_seconds(longest)}; success rate {rate:.0%}"
    )


@dataclass(frozen=True)
class Bar:
    """One bar of a bar chart: its tooltip, its value and its class (`bar-<kind>`)."""

    title: str
    value: float
    kind: str


def _bars(bars: Sequence[Bar], top: float) -> str:
    """`bars` side by side, oldest left, their heights `value` of `top` (the chart's height)."""
    slots = max(len(bars), MIN_SLOTS)
    width = max(1.0, (WIDTH - GAP * (slots - 1)) / slots)
    return "".join(_bar(bar, index, width, top) for index, bar in enumerate(bars))


def _bar(bar: Bar, index: int, width: float, top: float) -> str:
    height = max(MIN_BAR, (bar.value / top) * HEIGHT if top else MIN_BAR)
    x = index * (width + GAP)
    return (
        f'<rect class="bar bar-{bar.kind}" x="{x:.1f}" y="{HEIGHT - height:.1f}" '
        f'width="{width:.1f}" height="{height:.1f}"><title>{escape(bar.title)}</title></rect>'
    )


def _svg(summary_text: str, body: str) -> str:
    label = escape(summary_text)
    return (
        f'<svg class="chart" viewBox="0 0 {WIDTH} {HEIGHT}" preserveAspectRatio="none" '
        f'role="img" aria-label="{label}" xmlns="http://www.w3.org/2000/svg">'
        f"<title>{label}</title>{body}</svg>"
    )


def _y(value: float, top: float) -> float:
    """Where `value` is on a chart whose top is `top`."""
    return HEIGHT - value / top * HEIGHT


def _level(value: float, top: float, title: str) -> str:
    """A horizontal line at `value` of `top` (a limit)."""
    y = _y(value, top)
    return (
        f'<line class="limit" x1="0" x2="{WIDTH}" y1="{y:.1f}" y2="{y:.1f}">'
        f"<title>{escape(title)}</title></line>"
    )


def duration_chart(points: Sequence[ChartPoint], noun: str = "build") -> str:
    """An SVG of `points` (oldest first, from the left): bar height is the duration, class
    the outcome; empty without points."""
    if not points:
        return ""
    bars = [
        Bar(
            f"{point.label}: {point.outcome.value}, {format_seconds(point.seconds)}",
            point.seconds,
            point.outcome.value,
        )
        for point in points
    ]
    return _svg(summary(points, noun), _bars(bars, max(point.seconds for point in points)))


# ---- resource usage ------------------------------------------------------------------------

MIB = 1024 * 1024
HEADROOM = 1.25  # a series' top is this much above its highest point


def format_bytes(count: float) -> str:
    """512 MiB, 64.5 MiB, 1.50 GiB."""
    mib = count / MIB
    if mib >= 1024:
        return f"{mib / 1024:.2f} GiB"
    return f"{mib:.0f} MiB" if mib >= 100 else f"{mib:.1f} MiB"


@dataclass(frozen=True)
class Series:
    """One container's values over time (seconds since the first sample of the chart)."""

    name: str
    points: Sequence[tuple[float, float]]


def series_chart(
    series: Sequence[Series], label: str, *, limit: float | None = None, limit_title: str = ""
) -> str:
    """An SVG of each series as a line (time to the right, the last point a dot), scaled to
    its highest point with headroom; `limit` a line when it falls inside; empty without
    points."""
    values = [value for line in series for _, value in line.points]
    if not values:
        return ""
    top = max(values) * HEADROOM or 1.0
    end = max(at for line in series for at, _ in line.points) or 1.0

    def x(at: float) -> str:
        return f"{at / end * WIDTH:.1f}"

    def y(value: float) -> str:
        return f"{_y(value, top):.1f}"

    lines = "".join(
        f'<g class="series"><title>{escape(line.name)}</title>'
        f'<polyline points="{" ".join(f"{x(at)},{y(value)}" for at, value in line.points)}"/>'
        f'<circle r="2" cx="{x(line.points[-1][0])}" cy="{y(line.points[-1][1])}"/></g>'
        for line in series
        if line.points
    )
    shown = _level(limit, top, limit_title) if limit is not None and limit <= top else ""
    return _svg(label, lines + shown)


@dataclass(frozen=True)
class PeakPoint:
    """A run's memory peak (bytes) and whether it was killed for reaching its limit."""

    label: str
    memory_bytes: int
    oom_killed: bool


def peaks_chart(points: Sequence[PeakPoint], limit_bytes: int | None) -> str:
    """An SVG of `points` (oldest first) as bars against the memory limit, a line; the
    OOMKilled ones classed `bar-oom`; empty without points."""
    if not points:
        return ""
    top = max([limit_bytes or 0, *(point.memory_bytes for point in points)])
    bars = [
        Bar(
            f"{point.label}: peak {format_bytes(point.memory_bytes)}"
            + (", OOMKilled" if point.oom_killed else ""),
            point.memory_bytes,
            "oom" if point.oom_killed else "memory",
        )
        for point in points
    ]
    killed = sum(point.oom_killed for point in points)
    peak = max(point.memory_bytes for point in points)
    label = f"Memory peaks of the last {len(points)} measured runs, highest {format_bytes(peak)}"
    limit = ""
    if limit_bytes:
        label += f", limit {format_bytes(limit_bytes)}"
        limit = _level(limit_bytes, top, f"Plan limit {format_bytes(limit_bytes)}")
    if killed:
        label += f"; {killed} OOMKilled"
    return _svg(label, _bars(bars, top) + limit)
