"""Schedules of cron jobs and their maths, evaluated in UTC (the official clients' types carry
no time zone).

A schedule is the standard five fields (minute, hour, day-of-month, month, day-of-week) with
lists, ranges, steps and month and weekday names, as cronsim reads them (Debian cron's
dialect, which also knows `L` and `#`), or one of the macros Kubernetes accepts (`@hourly`,
`@daily`, ...).

Which due time to run follows the Kubernetes CronJob controller: only the most recent unmet
one (`mostRecentScheduleTime`), so any number of times missed while no worker ran gives at
most one late run, and not even that one once it is past the starting deadline.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from cronsim import CronSim, CronSimError

FIELDS = ("minute", "hour", "day-of-month", "month", "day-of-week")
MACROS = {
    "@yearly": "0 0 1 1 *",
    "@annually": "0 0 1 1 *",
    "@monthly": "0 0 1 * *",
    "@weekly": "0 0 * * 0",
    "@daily": "0 0 * * *",
    "@midnight": "0 0 * * *",
    "@hourly": "0 * * * *",
}
# Any instant will do to check that cronsim can evaluate an expression.
CHECKED_FROM = datetime(2000, 1, 1, tzinfo=UTC)
MICROSECOND = timedelta(microseconds=1)


def expression_of(schedule: str) -> str:
    """The five fields of `schedule` (a macro expanded)."""
    return MACROS.get(schedule.strip().lower(), schedule)


def checked_schedule(schedule: str) -> str:
    """`schedule` unchanged if it is one; ValueError saying what is wrong otherwise."""
    expression = expression_of(schedule)
    fields = len(expression.split())
    if fields != len(FIELDS):
        raise ValueError(
            f"a cron schedule has {len(FIELDS)} fields ({' '.join(FIELDS)}), not {fields}"
        )
    try:
        CronSim(expression, CHECKED_FROM)
    except CronSimError as exc:
        raise ValueError(f"not a cron schedule: {str(exc).lower()} field") from exc
    return schedule


def latest_due(schedule: str, now: datetime) -> datetime:
    """The latest due time of `schedule` at or before `now`."""
    # cronsim's reverse iteration yields times strictly before its start.
    return next(CronSim(expression_of(schedule), now.astimezone(UTC) + MICROSECOND, reverse=True))


def unmet_due_time(schedule: str, since: datetime, now: datetime) -> datetime | None:
    """The most recent due time after `since` (the last one handled, or when the schedule
    began) and at or before `now`; earlier unmet ones are never run."""
    due = latest_due(schedule, now)
    return due if due > since else None


def past_starting_deadline(due: datetime, now: datetime, deadline_seconds: float | None) -> bool:
    """Whether a run due at `due` may no longer start (no deadline: it always may)."""
    return deadline_seconds is not None and now - due > timedelta(seconds=deadline_seconds)
