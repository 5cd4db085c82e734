"""The dashboard's one chart: the durations of a job's or service's latest builds or runs as
inline SVG bars (oldest left), each coloured by its outcome (named in its tooltip too), and
the success rate. Pure functions: data in, markup out."""

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


def _bar(point: ChartPoint, index: int, width: float, longest: float) -> str:
    height = max(MIN_BAR, (point.seconds / longest) * HEIGHT if longest else MIN_BAR)
    x = index * (width + GAP)
    title = f"{point.label}: {point.outcome.value}, {format_seconds(point.seconds)}"
    return (
        f'<rect class="bar bar-{point.outcome.value}" x="{x:.1f}" y="{HEIGHT - height:.1f}" '
        f'width="{width:.1f}" height="{height:.1f}"><title>{escape(title)}</title></rect>'
    )


def duration_chart(points: Sequence[ChartPoint], noun: str = "build") -> str:
    """An SVG of `points` (oldest first, from the left): bar height is the duration, class
    the outcome; empty without points."""
    if not points:
        return ""
    label = escape(summary(points, noun))
    slots = max(len(points), MIN_SLOTS)
    width = max(1.0, (WIDTH - GAP * (slots - 1)) / slots)
    longest = max(point.seconds for point in points)
    bars = "".join(_bar(point, index, width, longest) for index, point in enumerate(points))
    return (
        f'<svg class="chart" viewBox="0 0 {WIDTH} {HEIGHT}" preserveAspectRatio="none" '
        f'role="img" aria-label="{label}" xmlns="http://www.w3.org/2000/svg">'
        f"<title>{label}</title>{bars}</svg>"
    )
