"""Paths a user names inside a tree dockyard holds (a build's source): resolved with every
symlink followed, so a link in a repository or a bundle cannot lead a write or a read onto
the worker's disk."""

from __future__ import annotations

from pathlib import Path

from dockyard.errors import BuildFailed


def inside(root: Path, path: str, what: str, where: str = "the source") -> Path:
    """`path` under `root` (a leading `/` is `root` itself), symlinks followed; BuildFailed
    naming `what` (the field) when it leads outside `root`."""
    base = root.resolve()
    resolved = (base / path.lstrip("/")).resolve()
    if not resolved.is_relative_to(base):
        raise BuildFailed(f"{what} {path} leads outside {where}")
    return resolved
