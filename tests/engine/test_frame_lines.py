"""Log frames of the Docker Engine API to lines: a line the engine cut is joined again."""

from __future__ import annotations

from dockyard.engine.containers import DOCKER_PIECE_BYTES, frame_lines

TIME = b"2026-01-01T00:00:00.000000000Z "


def test_pieces_of_a_long_line_are_one_line_and_short_frames_stay_apart() -> None:
    piece = b"x" * DOCKER_PIECE_BYTES
    frames = [TIME + piece, TIME + piece, TIME + b"end\n", TIME + b"no newline", TIME + b"a\nb\n"]
    assert [len(line) for line in frame_lines(frames)] == [2 * DOCKER_PIECE_BYTES + 3, 10, 1, 1]


def test_a_last_piece_without_its_end_is_still_a_line() -> None:
    assert list(frame_lines([TIME + b"y" * DOCKER_PIECE_BYTES])) == ["y" * DOCKER_PIECE_BYTES]
