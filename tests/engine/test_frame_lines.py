"""Log frames of the Docker Engine API to lines with their times: a line the engine cut is
joined again."""

from __future__ import annotations

from datetime import UTC, datetime

from dockyard.engine.containers import (
    DOCKER_PIECE_BYTES,
    FRAME_HEADER,
    frame_lines,
    multiplexed_frames,
)

TIME = b"2026-01-01T00:00:00.000000000Z "


def test_pieces_of_a_long_line_are_one_line_and_short_frames_stay_apart() -> None:
    piece = b"x" * DOCKER_PIECE_BYTES
    frames = [TIME + piece, TIME + piece, TIME + b"end\n", TIME + b"no newline", TIME + b"a\nb\n"]
    lengths = [len(line) for line, _at in frame_lines(frames)]
    assert lengths == [2 * DOCKER_PIECE_BYTES + 3, 10, 1, 1]


def test_a_last_piece_without_its_end_is_still_a_line() -> None:
    lines = [line for line, _at in frame_lines([TIME + b"y" * DOCKER_PIECE_BYTES])]
    assert lines == ["y" * DOCKER_PIECE_BYTES]


def test_a_line_has_its_frame_time_to_the_microsecond_and_a_joined_one_its_first() -> None:
    piece = b"z" * DOCKER_PIECE_BYTES
    frames = [
        b"2026-12-03T05:34:58.757464619Z " + piece,
        b"2026-12-03T05:34:59.1Z end\n",
        b"2026-12-03T05:35:00Z next\n",
    ]
    assert [at for _line, at in frame_lines(frames)] == [
        datetime(2026, 12, 3, 5, 34, 58, 757464, tzinfo=UTC),
        datetime(2026, 12, 3, 5, 35, tzinfo=UTC),
    ]


def test_frames_are_cut_from_chunks_split_anywhere() -> None:
    payloads = [TIME + b"first\n", TIME + b"x" * DOCKER_PIECE_BYTES, TIME + b"\n", b""]
    stream = b"".join(
        FRAME_HEADER.pack(1 + index % 2, len(payload)) + payload
        for index, payload in enumerate(payloads)
    )
    for size in (1, 7, 8, 9, 1000, len(stream)):
        chunks = [stream[start : start + size] for start in range(0, len(stream), size)]
        assert list(multiplexed_frames(chunks)) == payloads
