"""The build lifecycle table: forward phases, endings, recovery, terminal states final."""

from __future__ import annotations

import re

import pytest

from dockyard.builds.status import (
    BUILD_PHASES,
    BUILD_TRANSITIONS,
    TERMINAL_BUILD_STATUSES,
    BuildStatus,
    IllegalTransition,
    check_build_transition,
    is_terminal,
)
from dockyard.names import generated_id

B = BuildStatus


def test_phases_follow_each_other() -> None:
    for current, following in zip((B.QUEUED, *BUILD_PHASES), BUILD_PHASES, strict=False):
        check_build_transition(current, following)


@pytest.mark.parametrize("terminal", sorted(TERMINAL_BUILD_STATUSES))
@pytest.mark.parametrize("target", list(BuildStatus))
def test_terminal_states_are_final(terminal: BuildStatus, target: BuildStatus) -> None:
    assert is_terminal(terminal)
    with pytest.raises(IllegalTransition):
        check_build_transition(terminal, target)


@pytest.mark.parametrize("phase", [B.PENDING, B.CLONING, B.BUILDING, B.UPLOADING])
def test_every_running_phase_can_end_or_be_requeued(phase: BuildStatus) -> None:
    for ending in (B.FAILURE, B.ABORTED, B.CRASHED, B.QUEUED):
        check_build_transition(phase, ending)


def test_no_skipping_phases() -> None:
    with pytest.raises(IllegalTransition):
        check_build_transition(B.QUEUED, B.SUCCESS)
    with pytest.raises(IllegalTransition):
        check_build_transition(B.CLONING, B.UPLOADING)


def test_every_status_in_the_table_is_known() -> None:
    for source, targets in BUILD_TRANSITIONS.items():
        assert not is_terminal(source)
        assert targets <= set(BuildStatus)


def test_generated_ids_look_like_northflanks() -> None:
    ids = {generated_id() for _ in range(200)}
    assert all(re.fullmatch(r"[a-z]+-[a-z]+-\d{4}", value) for value in ids)
    assert len(ids) > 190
