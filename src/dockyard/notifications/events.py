"""The events an integration can subscribe to, named as Northflank's notification types name
them where one fits (`trigger:build:failure`, `trigger:job-run:start`, ...), and which of them
an integration wants.

dockyard additions: `trigger:build:crash` (a build whose worker died, CRASHED),
`trigger:job-run:health-check-failure` (a startup or liveness probe gave up on an attempt) and
`trigger:test` (sent by POST .../test, whatever the filters say).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Any


class Event(StrEnum):
    BUILD_START = "trigger:build:start"
    BUILD_SUCCESS = "trigger:build:success"
    BUILD_FAILURE = "trigger:build:failure"
    BUILD_ABORT = "trigger:build:abort"
    BUILD_CRASH = "trigger:build:crash"
    RUN_START = "trigger:job-run:start"
    RUN_SUCCESS = "trigger:job-run:success"
    RUN_FAILURE = "trigger:job-run:failure"
    RUN_HEALTH_CHECK_FAILURE = "trigger:job-run:health-check-failure"
    TEST = "trigger:test"


SUBSCRIBABLE = tuple(event for event in Event if event is not Event.TEST)
STARTS = frozenset({Event.BUILD_START, Event.RUN_START})

# A build concluding in one of these statuses; SUBMISSION_FAILURE is a failure to its users.
BUILD_CONCLUSIONS = {
    "SUCCESS": Event.BUILD_SUCCESS,
    "FAILURE": Event.BUILD_FAILURE,
    "SUBMISSION_FAILURE": Event.BUILD_FAILURE,
    "ABORTED": Event.BUILD_ABORT,
    "CRASHED": Event.BUILD_CRASH,
}
RUN_MOVES = {"RUNNING": Event.RUN_START, "SUCCESS": Event.RUN_SUCCESS, "FAILED": Event.RUN_FAILURE}


def build_event(target: str, attempts: int) -> Event | None:
    """The event of a build moving to `target`. A build starts when a worker takes it
    (QUEUED -> PENDING); only its first start counts: a build a dead worker left is queued
    again and taken with `attempts` > 1, which is no new start."""
    if target == "PENDING":
        return Event.BUILD_START if attempts <= 1 else None
    return BUILD_CONCLUSIONS.get(target)


def run_event(target: str) -> Event | None:
    """The event of a run moving to `target` (QUEUED -> RUNNING is its start)."""
    return RUN_MOVES.get(target)


@dataclass(frozen=True)
class Resource:
    """The job or build service an event is about."""

    kind: str  # "job" | "service"
    id: str
    name: str
    tags: Sequence[str]


def _tags_match(rule: dict[str, Any], tags: Sequence[str]) -> bool:
    items = rule.get("items") or []
    if not rule.get("enabled") or not items:
        return False
    wanted = all if rule.get("matchCondition") == "and" else any
    return wanted(item in tags for item in items)


def wants(spec: dict[str, Any], event: Event, resource: Resource) -> bool:
    """Whether an integration (its stored wire body) that hears the resource's project is sent
    `event` about `resource`: the event is enabled, and unless `restricted` to some, any
    resource; else one its `restrictions` name (by id in `jobs` / `services`, or by tags, all
    or any of them by `matchCondition`). The projects it is restricted to are chosen in SQL
    (`repository.hearing`)."""
    if event is Event.TEST:
        return True
    if not spec.get("events", {}).get(event.value):
        return False
    if not spec.get("restricted"):
        return True
    restrictions = spec.get("restrictions") or {}
    tags = restrictions.get("tags") or {}
    if not (
        restrictions.get("jobs")
        or restrictions.get("services")
        or (tags.get("enabled") and tags.get("items"))
    ):
        return True  # restricted to projects alone
    named = restrictions.get(f"{resource.kind}s") or []
    return resource.id in named or _tags_match(tags, resource.tags)
