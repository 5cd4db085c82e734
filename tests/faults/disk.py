"""Disk-full faults: a tmpfs of fixed size as dockyard's data dir, filled at will.

`SmallDisk` is the injection: `fill()` takes the disk's free space (all of it, or all but
`leave_bytes`) with one filler file, `free()` deletes it. A bench long mode loops them
around a live dockyard whose DOCKYARD_DATA_DIR is `SmallDisk.path`.
"""

from __future__ import annotations

import contextlib
import os
import sqlite3
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

FILLER = ".filler"
PAGE_BYTES = 4096
# SQLite waits this long for the readers of its log to let the checkpoint through.
CHECKPOINT_TIMEOUT_SECONDS = 30.0
CHECKPOINT_TRIES = 50


@dataclass
class SmallDisk:
    """A tmpfs of `megabytes` mounted at `path` (mounting needs root)."""

    path: Path
    megabytes: int

    @property
    def filler(self) -> Path:
        return self.path / FILLER

    def mount(self) -> SmallDisk:
        self.path.mkdir(parents=True, exist_ok=True)
        size = f"size={self.megabytes}m"
        subprocess.run(["mount", "-t", "tmpfs", "-o", size, "tmpfs", str(self.path)], check=True)
        return self

    def unmount(self) -> None:
        done = subprocess.run(["umount", str(self.path)], capture_output=True, text=True)
        if done.returncode != 0:  # still busy (a process of the test not reaped yet)
            subprocess.run(["umount", "--lazy", str(self.path)], check=True)

    def free_bytes(self) -> int:
        stats = os.statvfs(self.path)
        return stats.f_bavail * stats.f_frsize

    def fill(self, leave_bytes: int = 0) -> None:
        """Take all the free space but `leave_bytes`. SQLite's write-ahead log is emptied
        first (a checkpoint that truncates it): a log already grown takes new writes into
        the space it holds, so a full disk would refuse the database's writes only once
        they outgrew it."""
        self.checkpoint_database()
        with self.filler.open("ab") as filler:
            # Half of what is free at a time: one allocation asking more than is left (the
            # server wrote meanwhile) would fill the disk for a moment and give the space
            # back, a second full-disk episode.
            while (free := self.free_bytes() - leave_bytes) >= PAGE_BYTES:
                take = max(free // 2 // PAGE_BYTES, 1) * PAGE_BYTES
                try:
                    os.posix_fallocate(filler.fileno(), os.fstat(filler.fileno()).st_size, take)
                except OSError:
                    if take == PAGE_BYTES:
                        return

    def free(self) -> None:
        self.filler.unlink(missing_ok=True)

    def checkpoint_database(self) -> None:
        database = self.path / "dockyard.db"
        if not database.exists():
            return
        with contextlib.closing(
            sqlite3.connect(database, timeout=CHECKPOINT_TIMEOUT_SECONDS)
        ) as connection:
            for _ in range(CHECKPOINT_TRIES):
                busy, _, _ = connection.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchone()
                if not busy:
                    return
                time.sleep(0.1)
        raise RuntimeError(f"the write-ahead log of {database} could not be truncated")


@contextlib.contextmanager
def small_disk(path: Path, megabytes: int) -> Iterator[SmallDisk]:
    """A tmpfs of `megabytes` at `path` for the block, unmounted after."""
    disk = SmallDisk(path, megabytes).mount()
    try:
        yield disk
    finally:
        disk.unmount()
