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
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

FILLER = ".filler"
# SQLite waits this long for the readers of its log to let the checkpoint through.
CHECKPOINT_TIMEOUT_SECONDS = 30.0


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
        take = self.free_bytes() - leave_bytes
        if take <= 0:
            return
        with self.filler.open("ab") as filler:
            os.posix_fallocate(filler.fileno(), filler.tell(), take)

    def free(self) -> None:
        self.filler.unlink(missing_ok=True)

    def checkpoint_database(self) -> None:
        database = self.path / "dockyard.db"
        if not database.exists():
            return
        with contextlib.closing(
            sqlite3.connect(database, timeout=CHECKPOINT_TIMEOUT_SECONDS)
        ) as connection:
            connection.execute("PRAGMA wal_checkpoint(TRUNCATE)")


@contextlib.contextmanager
def small_disk(path: Path, megabytes: int) -> Iterator[SmallDisk]:
    """A tmpfs of `megabytes` at `path` for the block, unmounted after."""
    disk = SmallDisk(path, megabytes).mount()
    try:
        yield disk
    finally:
        disk.unmount()
