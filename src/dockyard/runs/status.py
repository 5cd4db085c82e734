"""A job run's statuses and the rules of moving between them. A terminal status is final; an
attempt that fails while retries remain keeps its run RUNNING."""

from __future__ import annotations

from enum import StrEnum

from sqlalchemy.ext.asyncio import AsyncSession

from dockyard.db import transitions
from dockyard.db.transitions import (
    CountConclusion,
    Lifecycle,
    Move,
    OnlyListedTransitions,
    Rule,
    StampConclusion,
    TerminalIsFinal,
)
from dockyard.metrics.instruments import RUNS_CONCLUDED
from dockyard.runs import notices
from dockyard.runs.models import JobRun


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


class NotifyRunMoved(Rule[RunStatus, JobRun]):
    """The notifications a run's move makes go to the outbox in the move's transaction."""

    async def after(self, session: AsyncSession, row: JobRun, move: Move[RunStatus]) -> None:
        await notices.run_moved(session, row)


RUN_RULES: tuple[Rule[RunStatus, JobRun], ...] = (
    TerminalIsFinal("run", TERMINAL_RUN_STATUSES),
    OnlyListedTransitions("run", RUN_TRANSITIONS),
    StampConclusion(TERMINAL_RUN_STATUSES),
    NotifyRunMoved(),
    CountConclusion(TERMINAL_RUN_STATUSES, lambda status: RUNS_CONCLUDED.labels(status).inc()),
)
RUNS = Lifecycle("run", RUN_RULES, R.QUEUED, R.FAILED, TERMINAL_RUN_STATUSES)


def run_is_terminal(status: RunStatus) -> bool:
    return status in TERMINAL_RUN_STATUSES


async def move_run(
    session: AsyncSession,
    run: JobRun,
    target: RunStatus,
    *,
    held_by: str | None = None,
    **changes: object,
) -> bool:
    """Move `run` to `target` through RUN_RULES (see `transitions.move`)."""
    return await transitions.move(session, RUNS, run, target, held_by=held_by, **changes)


async def abort(session: AsyncSession, run: JobRun) -> None:
    """Abort `run` (see `transitions.abort`): FAILED at once while queued."""
    await transitions.abort(session, RUNS, run)
