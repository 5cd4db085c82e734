"""A wall clock that a test steps, for one live dockyard process and nothing else: Debian's
libfaketime preloaded into it, reading its offset from a file on every call
(FAKETIME_TIMESTAMP_FILE with FAKETIME_NO_CACHE), with CLOCK_MONOTONIC left real
(FAKETIME_DONT_FAKE_MONOTONIC). `time.time()`, `datetime.now()` and the SQLite inside that
process move by the offset; the host's clock, the Docker engine's, PostgreSQL's and the other
dockyard processes' do not, as when one machine's clock is stepped by NTP or is off.

    clock = SteppedClock(tmp_path)
    process = DockyardProcess(..., env=clock.env).start()
    clock.step_to(3600)    # an hour ahead, at once
    clock.step_to(-3600)   # an hour behind

Debian's libfaketime 0.9.10 breaks absolute monotonic sleeps in this mode (see
monotonic_sleep.c): a small library, compiled once per machine, is preloaded before it.
"""

from __future__ import annotations

import functools
import glob
import hashlib
import os
import subprocess
import tempfile
from pathlib import Path

import pytest

LIBFAKETIME_GLOB = "/usr/lib/*/faketime/libfaketime.so.1"
SHIM_SOURCE = Path(__file__).with_name("monotonic_sleep.c")


@functools.cache
def preloaded_libraries() -> str:
    """LD_PRELOAD for a stepped clock: the monotonic-sleep fix, then libfaketime."""
    found = sorted(glob.glob(LIBFAKETIME_GLOB))
    if not found:
        pytest.fail("libfaketime is not installed: `scripts/install.sh test` installs faketime")
    source = SHIM_SOURCE.read_bytes()
    built = Path(tempfile.gettempdir()) / f"dockyard-{hashlib.sha256(source).hexdigest()[:16]}.so"
    if not built.exists():
        partial = built.with_suffix(f".{os.getpid()}.tmp")
        subprocess.run(
            ["gcc", "-shared", "-fPIC", "-O2", "-o", str(partial), str(SHIM_SOURCE), "-ldl"],
            check=True,
        )
        os.replace(partial, built)
    return f"{built}:{found[0]}"


class SteppedClock:
    """The wall-clock offset of the processes started with `env`, changed live by `step_to`."""

    def __init__(self, directory: Path, offset_seconds: int = 0) -> None:
        self.file = directory / "faketime-offset"
        self.step_to(offset_seconds)

    @property
    def env(self) -> dict[str, str]:
        return {
            "LD_PRELOAD": preloaded_libraries(),
            "FAKETIME_TIMESTAMP_FILE": str(self.file),
            "FAKETIME_NO_CACHE": "1",
            "FAKETIME_DONT_FAKE_MONOTONIC": "1",
        }

    def step_to(self, offset_seconds: int) -> None:
        """From now on the clock reads real time plus `offset_seconds`."""
        self.offset_seconds = offset_seconds
        partial = self.file.with_suffix(".tmp")
        partial.write_text(f"{offset_seconds:+d}\n")
        os.replace(partial, self.file)  # a reader never sees a half-written offset
