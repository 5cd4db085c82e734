"""Paths a user names inside a tree dockyard holds (a build's source, the repositories an
insteadOf prefix maps to): resolved with every symlink followed, so a link in a repository or
a bundle, or a `..`, cannot lead a write or a read onto the rest of the worker's disk."""

from __future__ import annotations

import os
from pathlib import Path

from dockyard.errors import BuildFailed

# Below this much free space a failed write is taken for a full disk whatever the writer said
# (git reports it as "unable to write file", "Out of diskspace" or "No space left on device").
NEARLY_FULL_BYTES = 1024 * 1024


def resolved_within(root: Path, path: Path) -> Path | None:
    """`path` resolved (symlinks followed), or None when that leads outside `root` (also
    resolved)."""
    resolved = path.resolve()
    return resolved if resolved.is_relative_to(root.resolve()) else None


def inside(root: Path, path: str, what: str, where: str = "the source") -> Path:
    """`path` under `root` (a leading `/` is `root` itself), symlinks followed; BuildFailed
    naming `what` (the field) when it leads outside `root`."""
    resolved = resolved_within(root, root / path.lstrip("/"))
    if resolved is None:
        raise BuildFailed(f"{what} {path} leads outside {where}")
    return resolved


def free_bytes(path: Path) -> int:
    """The space left to unprivileged writers on the filesystem of `path` (or of its nearest
    existing parent)."""
    while not path.exists() and path != path.parent:
        path = path.parent
    stats = os.statvfs(path)
    return stats.f_bavail * stats.f_frsize


def nearly_full(path: Path) -> bool:
    return free_bytes(path) < NEARLY_FULL_BYTES
