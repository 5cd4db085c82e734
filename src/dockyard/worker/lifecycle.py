"""The one table of allowed status transitions of builds (and, later, runs).

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

if TYPE_CHECKING:
    from dockyard.builds.models import Build


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
    session: AsyncSession, build: Build, target: BuildStatus, **changes: Any
) -> bool:
    """Move `build` to `target` if the table allows it and nobody moved it meanwhile
    (compare-and-set on its current status); sets `concluded_at` on terminal statuses. The
    caller commits. Whether the move happened; `build` is updated in place when it did."""
    current = BuildStatus(build.status)
    check_build_transition(current, target)
    now = utcnow()
    values = {"status": target.value, "updated_at": now, **changes}
    if is_terminal(target):
        values["concluded_at"] = now
    if not await builds_repository.compare_and_set(session, build.pk, current.value, values):
        return False
    for name, value in values.items():
        setattr(build, name, value)
    return True
