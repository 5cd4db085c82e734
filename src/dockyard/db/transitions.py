"""Status changes of work rows (builds, job runs) through an ordered list of named rules, in the
manner of Prefect's orchestration policies. Each domain names its statuses and its rules
(`builds/status.py`, `runs/status.py`); `move` is the only code that assigns a status.

A rule sees a proposed move twice: before it is written (`check`: refuse it, or add to the
values written) and after, in the same transaction (`after`: side effects such as the
notification outbox). The write is a compare-and-set on the row's current status and, for the
worker driving it, its claim: a move that lost a race, or a worker whose lease lapsed and whose
row another worker took over, moves nothing."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any, Generic, TypeVar

from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncSession

from dockyard.db.base import utcnow
from dockyard.db.session import after_commit
from dockyard.errors import Conflict

S = TypeVar("S", bound=StrEnum)
W = TypeVar("W")  # the row: a build or a job run


class IllegalTransition(Conflict):
    pass


@dataclass
class Move(Generic[S]):
    """A proposed change from `current` to `target`, writing `values`."""

    current: S
    target: S
    values: dict[str, Any] = field(default_factory=dict)


class Rule(Generic[S, W]):
    """One named step of every move; both halves do nothing unless a rule overrides them."""

    def check(self, move: Move[S]) -> None:
        """Before the write: raise to refuse the move, or add to `move.values`."""

    async def after(self, session: AsyncSession, row: W, move: Move[S]) -> None:
        """After the write (`row` holds its values), in its transaction."""


def _refuse(noun: str, move: Move[S]) -> IllegalTransition:
    return IllegalTransition(
        f"a {noun} cannot go from {move.current} to {move.target}",
        {"status": move.current.value, "requested": move.target.value},
    )


@dataclass(frozen=True)
class TerminalIsFinal(Rule[S, W]):
    """Nothing leaves a terminal status."""

    noun: str
    terminal: frozenset[S]

    def check(self, move: Move[S]) -> None:
        if move.current in self.terminal:
            raise _refuse(self.noun, move)


@dataclass(frozen=True)
class OnlyListedTransitions(Rule[S, W]):
    """A move happens only where the domain's table lists it."""

    noun: str
    table: Mapping[S, frozenset[S]]

    def check(self, move: Move[S]) -> None:
        if move.target not in self.table.get(move.current, frozenset()):
            raise _refuse(self.noun, move)


@dataclass(frozen=True)
class StampConclusion(Rule[S, W]):
    """A move into a terminal status records when the row concluded."""

    terminal: frozenset[S]

    def check(self, move: Move[S]) -> None:
        if move.target in self.terminal:
            move.values["concluded_at"] = move.values["updated_at"]


@dataclass(frozen=True)
class CountConclusion(Rule[S, W]):
    """A move into a terminal status is counted (`count(status)`, a metric) once its
    transaction commits."""

    terminal: frozenset[S]
    count: Callable[[str], None]

    async def after(self, session: AsyncSession, row: W, move: Move[S]) -> None:
        if move.target in self.terminal:
            status = move.target.value
            after_commit(session, lambda: self.count(status))


@dataclass(frozen=True)
class Lifecycle(Generic[S, W]):
    """What `move` and `abort` know of a domain's statuses: its rules, in order, where its
    rows start and where an abort ends a queued one, and which statuses are terminal."""

    noun: str
    rules: tuple[Rule[S, W], ...]
    queued: S
    aborted: S
    terminal: frozenset[S]

    def status_of(self, row: W) -> S:
        found: Any = row
        return type(self.queued)(found.status)


def proposed(lifecycle: Lifecycle[S, Any], current: S, target: S, **changes: Any) -> Move[S]:
    """The move from `current` to `target` as the rules' checks leave it (they raise
    IllegalTransition to refuse it)."""
    move = Move(current, target, {"status": target.value, "updated_at": utcnow(), **changes})
    for rule in lifecycle.rules:
        rule.check(move)
    return move


async def _compare_and_set(
    session: AsyncSession, row: Any, move: Move[S], held_by: str | None
) -> bool:
    model: Any = type(row)
    # The id too: SQLite hands a deleted row's pk to the next row inserted, so a runner whose
    # row was deleted (its project was) must not match the new row that took its pk.
    conditions = [model.pk == row.pk, model.id == row.id, model.status == move.current.value]
    if held_by is not None:
        conditions.append(model.claimed_by == held_by)
    result = await session.execute(
        update(model)
        .where(*conditions)
        .values(**move.values)
        .execution_options(synchronize_session=False)
    )
    return bool(getattr(result, "rowcount", 0))


async def move(
    session: AsyncSession,
    lifecycle: Lifecycle[S, W],
    row: W,
    target: S,
    *,
    held_by: str | None = None,
    **changes: Any,
) -> bool:
    """Move `row` to `target` through the lifecycle's rules, in order, if nobody moved it
    meanwhile (nor, given `held_by`, took it over from that worker). The caller commits.
    Whether the move happened; `row` is updated in place when it did."""
    change = proposed(lifecycle, lifecycle.status_of(row), target, **changes)
    if not await _compare_and_set(session, row, change, held_by):
        return False
    for name, value in change.values.items():
        setattr(row, name, value)
    for rule in lifecycle.rules:
        await rule.after(session, row, change)
    return True


async def abort(session: AsyncSession, lifecycle: Lifecycle[S, W], row: W) -> None:
    """Abort `row`: a queued one moves to the lifecycle's `aborted` status here; a running one
    is flagged, and the worker driving it ends it. The caller commits. Conflict when it has
    concluded already."""
    found: Any = row
    if lifecycle.status_of(row) in lifecycle.terminal:
        raise Conflict(
            f"{lifecycle.noun.capitalize()} {found.id!r} has already concluded ({found.status})",
            {"status": found.status},
        )
    if lifecycle.status_of(row) == lifecycle.queued and await move(
        session, lifecycle, row, lifecycle.aborted, message="Aborted before it started"
    ):
        return
    await session.refresh(row)
    if lifecycle.status_of(row) not in lifecycle.terminal:
        found.abort_requested = True
