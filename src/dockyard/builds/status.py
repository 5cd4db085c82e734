"""A build's statuses and the rules of moving between them.

A terminal status is final. The only way back is recovery: a build whose worker died before
anything was pushed goes back to QUEUED to start over."""

from __future__ import annotations

from enum import StrEnum

from sqlalchemy.ext.asyncio import AsyncSession

from dockyard.builds.models import Build
from dockyard.db import transitions
from dockyard.db.transitions import (
    IllegalTransition,
    Move,
    OnlyListedTransitions,
    Rule,
    StampConclusion,
    TerminalIsFinal,
)
from dockyard.notifications import outbox


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


class NotifyBuildMoved(Rule[BuildStatus, Build]):
    """The notifications a build's move makes go to the outbox in the move's transaction, so
    a crash can neither lose one nor send one for a move that did not happen."""

    async def after(self, session: AsyncSession, row: Build, move: Move[BuildStatus]) -> None:
        await outbox.build_moved(session, row)


BUILD_RULES: tuple[Rule[BuildStatus, Build], ...] = (
    TerminalIsFinal("build", TERMINAL_BUILD_STATUSES),
    OnlyListedTransitions("build", BUILD_TRANSITIONS),
    StampConclusion(TERMINAL_BUILD_STATUSES),
    NotifyBuildMoved(),
)


def is_terminal(status: BuildStatus) -> bool:
    return status in TERMINAL_BUILD_STATUSES


def check_build_transition(current: BuildStatus, target: BuildStatus) -> None:
    """Raise IllegalTransition unless the rules allow current -> target."""
    transitions.proposed(BUILD_RULES, current, target)


async def move_build(
    session: AsyncSession,
    build: Build,
    target: BuildStatus,
    *,
    held_by: str | None = None,
    **changes: object,
) -> bool:
    """Move `build` to `target` through BUILD_RULES (see `transitions.move`)."""
    return await transitions.move(
        session, BUILD_RULES, build, BuildStatus(build.status), target, held_by=held_by, **changes
    )


__all__ = [
    "BUILD_PHASES",
    "BUILD_RULES",
    "BUILD_TRANSITIONS",
    "TERMINAL_BUILD_STATUSES",
    "BuildStatus",
    "IllegalTransition",
    "check_build_transition",
    "is_terminal",
    "move_build",
]
