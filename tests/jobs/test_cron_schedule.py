"""Cron schedule maths on a fake clock: which expressions are schedules, the latest due time,
the one unmet due time after downtime, and the starting deadline."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from dockyard.jobs.cron import checked_schedule, latest_due, past_starting_deadline, unmet_due_time

# A Wednesday.
NOON = datetime(2025, 1, 15, 12, 0, tzinfo=UTC)


def at(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


@pytest.mark.parametrize(
    "schedule",
    [
        "* * * * *",
        "30 8 * * *",
        "*/15 9-17 * * 1-5",
        "0 0 1 jan,JUL *",
        "5,10-20/3 */2 1-15 * MON-fri",
        "0 0 * * 7",
        "@hourly",
        "@Daily",
        "  0  12 * * *  ",
    ],
)
def test_standard_schedules_are_accepted_as_given(schedule: str) -> None:
    assert checked_schedule(schedule) == schedule


@pytest.mark.parametrize(
    ("schedule", "reason"),
    [
        ("", "5 fields"),
        ("* * * *", "not 4"),
        ("0 * * * * *", "not 6"),
        ("@every 5m", "not 2"),
        ("60 * * * *", "bad minute"),
        ("* 24 * * *", "bad hour"),
        ("* * 0 * *", "bad day-of-month"),
        ("0 0 30 2 *", "bad day-of-month"),
        ("* * * 13 *", "bad month"),
        ("* * * * 8", "bad day-of-week"),
        ("*/0 * * * *", "bad minute"),
        ("5-1 * * * *", "bad minute"),
        ("* * * foo *", "bad month"),
        ("-1 * * * *", "bad minute"),
    ],
)
def test_other_expressions_are_refused_saying_why(schedule: str, reason: str) -> None:
    with pytest.raises(ValueError, match=reason):
        checked_schedule(schedule)


@pytest.mark.parametrize(
    ("schedule", "now", "due"),
    [
        ("* * * * *", "2025-01-15 12:00:00", "2025-01-15 12:00:00"),  # due exactly now
        ("* * * * *", "2025-01-15 12:00:59.999", "2025-01-15 12:00:00"),
        ("*/15 * * * *", "2025-01-15 12:44:00", "2025-01-15 12:30:00"),
        ("30 8 * * *", "2025-01-15 08:29:00", "2025-01-14 08:30:00"),
        ("0 9 * * mon-fri", "2025-01-19 10:00:00", "2025-01-17 09:00:00"),  # Sunday → Friday
        ("0 0 1 jan *", "2025-06-01 00:00:00", "2025-01-01 00:00:00"),
        ("@hourly", "2025-01-15 12:59:00", "2025-01-15 12:00:00"),
    ],
)
def test_latest_due_time_in_utc(schedule: str, now: str, due: str) -> None:
    assert latest_due(schedule, at(now)) == at(due)


def test_a_due_time_is_unmet_once_past_and_only_after_the_last_one_handled() -> None:
    assert unmet_due_time("* * * * *", since=NOON, now=NOON + timedelta(seconds=59)) is None
    assert unmet_due_time("* * * * *", NOON, NOON + timedelta(minutes=1)) == NOON + timedelta(
        minutes=1
    )
    handled = NOON + timedelta(minutes=1)
    assert unmet_due_time("* * * * *", handled, handled + timedelta(seconds=30)) is None


def test_after_downtime_only_the_most_recent_missed_time_is_unmet() -> None:
    """Three hours of a worker-less cluster: one run, for the latest due time."""
    since = NOON
    now = NOON + timedelta(hours=3, minutes=7)
    assert unmet_due_time("*/5 * * * *", since, now) == NOON + timedelta(hours=3, minutes=5)
    assert unmet_due_time("0 0 * * *", since, now) is None  # nothing due in between


def test_times_in_other_zones_are_the_same_instants() -> None:
    tokyo = NOON.astimezone(datetime.fromisoformat("2025-01-01T00:00+09:00").tzinfo)
    assert latest_due("0 12 * * *", tokyo) == NOON


@pytest.mark.parametrize(
    ("late_by", "deadline", "too_late"),
    [
        (timedelta(seconds=5), None, False),
        (timedelta(days=30), None, False),
        (timedelta(seconds=30), 30.0, False),
        (timedelta(seconds=31), 30.0, True),
        (timedelta(seconds=1), 0.0, True),
    ],
)
def test_starting_deadline(late_by: timedelta, deadline: float | None, too_late: bool) -> None:
    assert past_starting_deadline(NOON, NOON + late_by, deadline) is too_late
