"""The buildah adapter's own rules: what reaches buildah's environment, which registries it
speaks plain HTTP to, which per-project storages `dockyard gc` drops (never one in use), and,
with a real registry, which pushes it skips."""

from __future__ import annotations

import asyncio
import fcntl
import os
import shutil
import subprocess
import tempfile
import time
import uuid
from pathlib import Path

import pytest

from dockyard.engine.base import RegistryCredentials
from dockyard.engine.buildah import BuildahEngine, _flock, _held, base_registries
from dockyard.engine.dockercli import DOCKER_CLI
from dockyard.engine.registry import HttpRegistry
from dockyard.errors import BuildFailed, Invalid
from tests.builds.conftest import docker_config
from tests.engine.conftest import DOCKER_HOST

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


@pytest.mark.parametrize(
    ("lock", "mode"), [("turn.lock", fcntl.LOCK_EX), ("use.lock", fcntl.LOCK_SH)]
)
async def test_gc_keeps_a_storage_a_build_or_push_holds(
    tmp_path: Path, lock: str, mode: int
) -> None:
    (tmp_path / "deleted" / "storage").mkdir(parents=True)
    engine = BuildahEngine(tmp_path, "127.0.0.1:5000")
    with (tmp_path / "deleted" / lock).open("a") as held:  # as another worker's build holds it
        fcntl.flock(held, mode)
        assert await engine.prune_cache(24, set()) == "0 buildah storages dropped, 1 in use"
        assert (tmp_path / "deleted" / "storage").is_dir()
    assert await engine.prune_cache(24, set()) == "1 buildah storages dropped"


async def test_a_lock_waited_for_while_gc_dropped_the_storage_is_taken_anew(
    tmp_path: Path,
) -> None:
    path = tmp_path / "proj" / "turn.lock"
    path.parent.mkdir()
    taken, done = asyncio.Event(), asyncio.Event()

    async def take_turn() -> None:
        async with _held(path, fcntl.LOCK_EX):
            taken.set()
            await done.wait()

    with path.open("a") as gc_turn:
        fcntl.flock(gc_turn, fcntl.LOCK_EX)
        waiting = asyncio.create_task(take_turn())
        await asyncio.sleep(0.3)
        shutil.rmtree(path.parent)  # as gc drops it, holding the lock
    await asyncio.wait_for(taken.wait(), 5)
    with path.open("a") as other:  # the lock of the storage made anew is the one taken
        assert not _flock(other, fcntl.LOCK_EX)
    done.set()
    await waiting


def push_base_image(login: RegistryCredentials) -> None:
    """local/busybox:1 into the registry of `login` as `local/busybox:1`."""
    pushed = f"{login.registry}/local/busybox:1"
    with tempfile.TemporaryDirectory() as scratch:
        env = {
            "DOCKER_HOST": DOCKER_HOST,
            "DOCKER_CONFIG": str(docker_config(Path(scratch) / "c", login)),
        }
        for args in (
            ["tag", "local/busybox:1", pushed],
            ["push", "--quiet", pushed],
            ["rmi", pushed],
        ):
            subprocess.run([DOCKER_CLI, *args], check=True, env=env, capture_output=True)


@pytest.mark.e2e
async def test_a_push_that_would_change_nothing_is_skipped(
    tmp_path: Path, registry_login: RegistryCredentials
) -> None:
    push_base_image(registry_login)
    name = f"job-{uuid.uuid4().hex[:8]}"
    reference = f"{registry_login.registry}/proj/{name}:1"
    registry = HttpRegistry(registry_login.registry, registry_login)
    engine = BuildahEngine(tmp_path / "buildah", registry_login.registry, registry_login)
    skipped = f"{reference}: the registry holds this image already"
    (tmp_path / "Dockerfile").write_text(f"FROM local/busybox:1\nRUN echo {uuid.uuid4()} > /id\n")

    async def build_and_push() -> tuple[str, list[str]]:
        await engine.build(tmp_path, tag=reference)
        lines: list[str] = []
        return await engine.push(reference, reference, on_line=lines.append), lines

    digest, first = await build_and_push()
    assert not any(skipped in line for line in first)
    again, lines = await build_and_push()
    assert (again, lines) == (digest, [f"{skipped}, digest: {digest}"])
    assert await registry.digest(f"proj/{name}", "1") == digest
    assert not (tmp_path / "buildah" / "proj" / "unfinished-build").exists()

    # Not built by this engine since its last push: pushed.
    lines = []
    assert await engine.push(reference, reference, on_line=lines.append) == digest
    assert not any(skipped in line for line in lines)

    # The tag deleted in the registry: pushed again.
    await registry.delete_manifest(f"proj/{name}", digest)
    restored, lines = await build_and_push()
    assert await registry.digest(f"proj/{name}", "1") == restored
    assert not any(skipped in line for line in lines)

    # Another image under the same tag: pushed, the tag moves.
    (tmp_path / "Dockerfile").write_text(f"FROM local/busybox:1\nRUN echo {uuid.uuid4()} > /id\n")
    moved, lines = await build_and_push()
    assert moved != restored and not any(skipped in line for line in lines)
    assert await registry.digest(f"proj/{name}", "1") == moved
