"""A build's statuses and the rules of moving between them.

A terminal status is final. The only way back is recovery: a build whose worker died before
anything was pushed goes back to QUEUED to start over."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from dockyard.builds import notices
from dockyard.builds.models import Build
from dockyard.db import transitions
from dockyard.db.transitions import (
    CountConclusion,
    IllegalTransition,
    Lifecycle,
    Move,
    OnlyListedTransitions,
    Rule,
    StampConclusion,
    TerminalIsFinal,
)
from dockyard.metrics.instruments import BUILDS_CONCLUDED
from dockyard.targets.schemas import BuildStatus

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
        await notices.build_moved(session, row)


BUILD_RULES: tuple[Rule[BuildStatus, Build], ...] = (
    TerminalIsFinal("build", TERMINAL_BUILD_STATUSES),
    OnlyListedTransitions("build", BUILD_TRANSITIONS),
    StampConclusion(TERMINAL_BUILD_STATUSES),
    NotifyBuildMoved(),
    CountConclusion(TERMINAL_BUILD_STATUSES, lambda status: BUILDS_CONCLUDED.labels(status).inc()),
)
BUILDS = Lifecycle("build", BUILD_RULES, B.QUEUED, B.ABORTED, TERMINAL_BUILD_STATUSES)


def is_terminal(status: BuildStatus) -> bool:
    return status in TERMINAL_BUILD_STATUSES


def check_build_transition(current: BuildStatus, target: BuildStatus) -> None:
    """Raise IllegalTransition unless the rules allow current -> target."""
    transitions.proposed(BUILDS, current, target)


async def move_build(
    session: AsyncSession,
    build: Build,
    target: BuildStatus,
    *,
    held_by: str | None = None,
    **changes: object,
) -> bool:
    """Move `build` to `target` through BUILD_RULES (see `transitions.move`)."""
    return await transitions.move(session, BUILDS, build, target, held_by=held_by, **changes)


async def abort(session: AsyncSession, build: Build) -> None:
    """Abort `build` (see `transitions.abort`): ABORTED at once while queued."""
    await transitions.abort(session, BUILDS, build)


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
