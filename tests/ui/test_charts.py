"""The duration chart: bars oldest first, sized by duration, classed by outcome, with the
success rate over concluded points in words."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET

from dockyard.ui.charts import (
    HEIGHT,
    ChartPoint,
    Outcome,
    duration_chart,
    format_seconds,
    success_rate,
)

SVG = "{http://www.w3.org/2000/svg}"


def bars(svg: str) -> list[ET.Element]:
    return list(ET.fromstring(svg).iter(f"{SVG}rect"))


def test_bars_are_oldest_first_sized_by_duration_and_classed_by_outcome() -> None:
    points = [
        ChartPoint("old", 30, Outcome.SUCCESS),
        ChartPoint("mid", 60, Outcome.FAILURE),
        ChartPoint("new", 15, Outcome.RUNNING),
    ]
    drawn = bars(duration_chart(points))
    assert [bar.get("class") for bar in drawn] == [
        "bar bar-success",
        "bar bar-failure",
        "bar bar-running",
    ]
    heights = [float(bar.get("height", 0)) for bar in drawn]
    assert heights == [HEIGHT / 2, HEIGHT, HEIGHT / 4]
    xs = [float(bar.get("x", 0)) for bar in drawn]
    assert xs == sorted(xs)
    titles = [bar.findtext(f"{SVG}title") for bar in drawn]
    assert titles == ["old: success, 30s", "mid: failure, 1m 00s", "new: running, 15s"]


def test_the_chart_names_itself_for_screen_readers() -> None:
    points = [
        ChartPoint(f"b{n}", n, Outcome.SUCCESS if n % 4 else Outcome.FAILURE) for n in range(8)
    ]
    svg = ET.fromstring(duration_chart(points, "run"))
    assert svg.get("role") == "img"
    assert svg.get("aria-label") == "Durations of the last 8 runs, longest 7s; success rate 75%"


def test_fifty_points_fit_and_zero_durations_still_show() -> None:
    points = [ChartPoint(str(n), 0, Outcome.SUCCESS) for n in range(50)]
    drawn = bars(duration_chart(points))
    assert len(drawn) == 50 and all(float(bar.get("height", 0)) > 0 for bar in drawn)
    right = float(drawn[-1].get("x", 0)) + float(drawn[-1].get("width", 0))
    assert right <= 300.01


def test_labels_are_escaped() -> None:
    svg = duration_chart([ChartPoint("<script>x</script>", 1, Outcome.SUCCESS)])
    assert "<script>" not in svg and "&lt;script&gt;" in svg


def test_no_points_no_chart_and_running_points_do_not_count_for_the_rate() -> None:
    assert duration_chart([]) == ""
    assert success_rate([]) is None
    assert success_rate([ChartPoint("a", 5, Outcome.RUNNING)]) is None
    assert (
        success_rate([ChartPoint("a", 5, Outcome.RUNNING), ChartPoint("b", 5, Outcome.SUCCESS)])
        == 1.0
    )
    only_running = duration_chart([ChartPoint("a", 5, Outcome.RUNNING)])
    assert re.search(r'aria-label="[^"]*none has concluded"', only_running)


def test_durations_read_like_a_person_would_write_them() -> None:
    assert [format_seconds(s) for s in (0, 59.9, 60, 185, 3600, 7620)] == [
        "0s",
        "59s",
        "1m 00s",
        "3m 05s",
        "1h 00m",
        "2h 07m",
    ]
