"""Run an external program from an argument list (never a shell), stream its output line by
line, and kill its whole process group when the awaiting task is cancelled or times out."""

from __future__ import annotations

import asyncio
import contextlib
import os
import re
import shutil
import signal
from collections import deque
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from dockyard.engine.base import LineSink

# The kernel kills the program when dockyard dies, even by SIGKILL, so a crashed worker leaves
# no git or docker process behind. util-linux's setpriv sets that up before exec: the same
# prctl from a Python preexec_fn would cost a slow fork of the whole interpreter per process.
DIE_WITH_PARENT = ("setpriv", "--pdeathsig", "KILL", "--")
TAIL_LINES = 40
CHUNK_BYTES = 64 * 1024
REAP_SECONDS = 10
# A progress bar redraws its line with \r; each redraw is a line of its own.
LINE_BREAK = re.compile(rb"\r\n|\r|\n")


@dataclass
class Completed:
    returncode: int
    stdout: list[str] = field(default_factory=list)
    tail: deque[str] = field(default_factory=lambda: deque(maxlen=TAIL_LINES))
    """The last lines of stdout and stderr together."""

    @property
    def ok(self) -> bool:
        return self.returncode == 0


async def run(
    argv: Sequence[str],
    *,
    env: Mapping[str, str],
    cwd: Path | None = None,
    on_line: LineSink | None = None,
    timeout: float | None = None,
    on_spawn: Callable[[int], None] | None = None,
) -> Completed:
    """Run `argv` to its end; every non-empty output line goes to `on_line`, its pid to
    `on_spawn` as soon as it is spawned. On timeout (TimeoutError) or cancellation the
    process group is killed before the error propagates."""
    if shutil.which(argv[0], path=env.get("PATH")) is None:
        raise FileNotFoundError(f"{argv[0]}: no such program")
    process = await asyncio.create_subprocess_exec(
        *DIE_WITH_PARENT,
        *argv,
        env=dict(env),
        cwd=cwd,
        stdin=asyncio.subprocess.DEVNULL,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
        start_new_session=True,  # its own process group, so children die with it
    )
    assert process.stdout is not None and process.stderr is not None
    completed = Completed(returncode=-1)
    if on_spawn is not None:
        on_spawn(process.pid)

    def from_stderr(line: str) -> None:
        completed.tail.append(line)
        if on_line is not None:
            on_line(line)

    def from_stdout(line: str) -> None:
        completed.stdout.append(line)
        from_stderr(line)

    try:
        async with asyncio.timeout(timeout):
            await asyncio.gather(
                _pump(process.stdout, from_stdout), _pump(process.stderr, from_stderr)
            )
            completed.returncode = await process.wait()
    except BaseException:
        _kill_group(process.pid)
        await _reap(process)
        raise
    return completed


async def _reap(process: asyncio.subprocess.Process) -> None:
    """Wait for the killed process. asyncio's wait() also waits for its pipes to close, which
    a paused (unread) pipe never does: drain them, and give up after REAP_SECONDS."""
    assert process.stdout is not None and process.stderr is not None
    with contextlib.suppress(TimeoutError, OSError):
        async with asyncio.timeout(REAP_SECONDS):
            await asyncio.gather(_drain(process.stdout), _drain(process.stderr))
            await process.wait()


async def _drain(stream: asyncio.StreamReader) -> None:
    while await stream.read(CHUNK_BYTES):
        pass


async def _pump(stream: asyncio.StreamReader, emit: Callable[[str], None]) -> None:
    pending = b""
    while chunk := await stream.read(CHUNK_BYTES):
        *lines, pending = LINE_BREAK.split(pending + chunk)
        if len(pending) > CHUNK_BYTES:
            lines.append(pending)
            pending = b""
        for line in lines:
            _emit_decoded(line, emit)
    _emit_decoded(pending, emit)


def _emit_decoded(line: bytes, emit: Callable[[str], None]) -> None:
    if line:
        emit(line.decode("utf-8", errors="replace"))


def _kill_group(pgid: int) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.killpg(pgid, signal.SIGKILL)
