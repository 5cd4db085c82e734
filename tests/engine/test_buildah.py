"""The buildah adapter's own rules, without a build: what reaches buildah's environment, which
registries it speaks plain HTTP to, and which per-project storages `dockyard gc` drops."""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest

from dockyard.engine.buildah import BuildahEngine, base_registries
from dockyard.errors import BuildFailed, Invalid

pytestmark = pytest.mark.anyio


async def test_a_build_argument_buildah_reads_itself_is_refused(tmp_path: Path) -> None:
    (tmp_path / "Dockerfile").write_text("FROM local/busybox:1\n")
    engine = BuildahEngine(tmp_path / "buildah", "127.0.0.1:5000")
    for name in ("STORAGE_DRIVER", "CONTAINERS_REGISTRIES_CONF", "REGISTRY_AUTH_FILE"):
        with pytest.raises(BuildFailed, match="buildah reads it itself"):
            await engine.build(tmp_path, tag="127.0.0.1:5000/p/j:1", build_args={name: "x"})
    assert not (tmp_path / "buildah").exists()


def test_only_images_of_a_project_have_a_storage(tmp_path: Path) -> None:
    engine = BuildahEngine(tmp_path, "127.0.0.1:5000")
    assert engine.storage("127.0.0.1:5000/proj/job:abc") == tmp_path / "proj"
    for reference in ("job:abc", "127.0.0.1:5000/../job:abc", "127.0.0.1:5000/Proj/j:1"):
        with pytest.raises(Invalid):
            engine.storage(reference)


def test_the_registries_from_lines_name() -> None:
    dockerfile = (
        "FROM local/busybox:1 AS base\n"
        "from --platform=linux/amd64 127.0.0.1:5055/private/base:2\n"
        "FROM registry.example.test/team/app\nFROM base\n"
    )
    assert base_registries(dockerfile) == {"127.0.0.1:5055", "registry.example.test"}


async def test_gc_drops_storages_of_deleted_projects_and_unused_ones(tmp_path: Path) -> None:
    for project in ("kept", "stale", "deleted"):
        (tmp_path / project / "storage").mkdir(parents=True)
    two_days_ago = time.time() - 48 * 3600
    os.utime(tmp_path / "stale", (two_days_ago, two_days_ago))

    summary = await BuildahEngine(tmp_path, "127.0.0.1:5000").prune_cache(24, {"kept", "stale"})

    assert sorted(path.name for path in tmp_path.iterdir()) == ["kept"]
    assert summary == "2 buildah storages dropped"
