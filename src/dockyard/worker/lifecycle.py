"""The tables of allowed status transitions of builds and of job runs.

Every status change goes through `check_build_transition`; nothing else assigns a status.
A terminal status is final. The only way back is recovery: a build whose worker died before
anything was pushed goes back to QUEUED to start over.
"""

from __future__ import annotations

from enum import StrEnum
from typing import TYPE_CHECKING, Any

from sqlalchemy.ext.asyncio import AsyncSession

from dockyard.builds import repository as builds_repository
from dockyard.db.base import utcnow
from dockyard.errors import Conflict
from dockyard.notifications import outbox
from dockyard.runs import repository as runs_repository

if TYPE_CHECKING:
    from dockyard.builds.models import Build
    from dockyard.runs.models import JobRun


class BuildStatus(StrEnum):
    QUEUED = "QUEUED"
    PENDING = "PENDING"
    UNSCHEDULABLE = "UNSCHEDULABLE"
    STARTING = "STARTING"
    CLONING = "CLONING"
    BUILDING = "BUILDING"
    UPLOADING = "UPLOADING"
    ABORTED = "ABORTED"
    FAILURE = "FAILURE"
    SUBMISSION_FAILURE = "SUBMISSION_FAILURE"
    SUCCESS = "SUCCESS"
    CRASHED = "CRASHED"
    IN_PROGRESS = "IN_PROGRESS"


B = BuildStatus

TERMINAL_BUILD_STATUSES = frozenset(
    {B.ABORTED, B.FAILURE, B.SUBMISSION_FAILURE, B.SUCCESS, B.CRASHED}
)
# The phases a worker drives a build through, in order.
BUILD_PHASES = (B.PENDING, B.CLONING, B.BUILDING, B.UPLOADING, B.SUCCESS)

_ENDINGS = frozenset({B.FAILURE, B.ABORTED, B.CRASHED})
BUILD_TRANSITIONS: dict[BuildStatus, frozenset[BuildStatus]] = {
    B.QUEUED: frozenset({B.PENDING, B.ABORTED, B.SUBMISSION_FAILURE}),
    B.PENDING: frozenset({B.CLONING, B.QUEUED}) | _ENDINGS,
    B.CLONING: frozenset({B.BUILDING, B.QUEUED}) | _ENDINGS,
    B.BUILDING: frozenset({B.UPLOADING, B.QUEUED}) | _ENDINGS,
    B.UPLOADING: frozenset({B.SUCCESS, B.QUEUED}) | _ENDINGS,
}


class IllegalTransition(Conflict):
    pass


def is_terminal(status: BuildStatus) -> bool:
    return status in TERMINAL_BUILD_STATUSES


def check_build_transition(current: BuildStatus, target: BuildStatus) -> None:
    """Raise IllegalTransition unless the table allows current -> target."""
    if target not in BUILD_TRANSITIONS.get(current, frozenset()):
        raise IllegalTransition(
            f"a build cannot go from {current} to {target}",
            {"status": current.value, "requested": target.value},
        )


async def move_build(
    session: AsyncSession,
    build: Build,
    target: BuildStatus,
    *,
    held_by: str | None = None,
    **changes: Any,
) -> bool:
    """Move `build` to `target` if the table allows it and nobody moved it meanwhile
    (compare-and-set on its current status and, for the worker driving it, `held_by` its
    claim: a worker whose lease lapsed cannot move a build another worker took over);
    sets `concluded_at` on terminal statuses; the notifications the move makes are written
    to the outbox in the same transaction. The caller commits. Whether the move happened;
    `build` is updated in place when it did."""
    current = BuildStatus(build.status)
    check_build_transition(current, target)
    now = utcnow()
    values = {"status": target.value, "updated_at": now, **changes}
    if is_terminal(target):
        values["concluded_at"] = now
    if not await builds_repository.compare_and_set(
        session, build.pk, current.value, values, held_by
    ):
        return False
    for name, value in values.items():
        setattr(build, name, value)
    await outbox.build_moved(session, build)
    return True


# ---- runs ----------------------------------------------------------------------------------


class RunStatus(StrEnum):
    QUEUED = "QUEUED"
    RUNNING = "RUNNING"
    SUCCESS = "SUCCESS"
    FAILED = "FAILED"


R = RunStatus

TERMINAL_RUN_STATUSES = frozenset({R.SUCCESS, R.FAILED})
RUN_TRANSITIONS: dict[RunStatus, frozenset[RunStatus]] = {
    R.QUEUED: frozenset({R.RUNNING, R.FAILED}),
    R.RUNNING: frozenset({R.SUCCESS, R.FAILED}),
}


def run_is_terminal(status: RunStatus) -> bool:
    return status in TERMINAL_RUN_STATUSES


async def move_run(
    session: AsyncSession,
    run: JobRun,
    target: RunStatus,
    *,
    held_by: str | None = None,
    **changes: Any,
) -> bool:
    """Move `run` to `target` if the table allows it and nobody moved it meanwhile (nor, for
    the worker driving it, `held_by` its claim, took it over); sets `concluded_at` on terminal
    statuses; the notifications the move makes are written to the outbox in the same
    transaction. The caller commits. Whether the move happened."""
    current = RunStatus(run.status)
    if target not in RUN_TRANSITIONS.get(current, frozenset()):
        raise IllegalTransition(
            f"a run cannot go from {current} to {target}",
            {"status": current.value, "requested": target.value},
        )
    now = utcnow()
    values = {"status": target.value, "updated_at": now, **changes}
    if run_is_terminal(target):
        values["concluded_at"] = now
    expected = {"status": current.value}
    if held_by is not None:
        expected["claimed_by"] = held_by
    if not await runs_repository.compare_and_set(session, run.pk, expected, values):
        return False
    for name, value in values.items():
        setattr(run, name, value)
    await outbox.run_moved(session, run)
    return True
