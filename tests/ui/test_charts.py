"""The duration chart: bars oldest first, sized by duration, classed by outcome, with the
success rate over concluded points in words."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET

from dockyard.ui.charts import (
    HEIGHT,
    MIB,
    ChartPoint,
    Outcome,
    PeakPoint,
    Series,
    duration_chart,
    format_bytes,
    format_seconds,
    peaks_chart,
    series_chart,
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


def test_series_are_lines_over_time_scaled_to_their_peak_with_the_limit_when_inside() -> None:
    series = [Series("attempt-1", [(0, 1.0), (10, 4.0)]), Series("attempt-2", [(20, 2.0)])]
    svg = ET.fromstring(series_chart(series, "CPU", limit=4.5, limit_title="limit"))
    lines = [line.get("points") for line in svg.iter(f"{SVG}polyline")]
    # Time to the right over 20 s; the top is the peak with headroom (4 * 1.25).
    assert lines == ["0.0,64.0 150.0,16.0", "300.0,48.0"]
    [limit] = svg.iter(f"{SVG}line")
    assert limit.get("y1") == "8.0"
    assert "<line" not in series_chart(series, "CPU", limit=100.0)
    assert series_chart([Series("none", [])], "CPU") == ""


def test_peaks_are_bars_against_the_limit_the_oom_killed_marked() -> None:
    points = [PeakPoint("a", 128 * MIB, False), PeakPoint("b", 512 * MIB, True)]
    markup = peaks_chart(points, 256 * MIB)
    svg = ET.fromstring(markup)
    assert [(bar.get("class"), bar.get("height")) for bar in bars(markup)] == [
        ("bar bar-memory", "20.0"),
        ("bar bar-oom", "80.0"),
    ]
    [limit] = svg.iter(f"{SVG}line")
    assert limit.get("y1") == "40.0"
    assert svg.get("aria-label") == (
        "Memory peaks of the last 2 measured runs, highest 512 MiB, limit 256 MiB; 1 OOMKilled"
    )
    assert peaks_chart([], 256 * MIB) == ""
    assert [format_bytes(n) for n in (5 * MIB // 2, 512 * MIB, 3 * 1024 * MIB)] == [
        "2.5 MiB",
        "512 MiB",
        "3.00 GiB",
    ]
