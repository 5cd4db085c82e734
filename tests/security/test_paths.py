"""A hostile project's paths: symlinks in its repository or bundle that lead a build's files
onto the worker's disk, tar entries that climb out of the source, runtime files aimed
through an image's symlink at the host, and a `.git` dir that would have the worker run its
hooks. Each must write nothing outside the source (or the container) and run nothing. On a
live `dockyard up`, the real git, BuildKit and Docker engine."""

from __future__ import annotations

import base64
import io
import os
import subprocess
import tarfile
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from dockyard.engine.base import ContainerSpec
from dockyard.engine.bundles import fetch_bundle
from dockyard.engine.containers import DockerEngine
from dockyard.engine.dockercli import DOCKER_CLI
from dockyard.errors import BuildFailed
from tests.builds.conftest import LiveDockyard, live_with_project
from tests.engine.test_containers import texts_into
from tests.fileserver import serve_files
from tests.gitrepos import GitRepo, make_sample_repo
from tests.live import DOCKER_HOST

DOCKERFILE = "FROM local/busybox:1\nCOPY . /src/\n"


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


@dataclass
class Hostile:
    live: LiveDockyard
    repo: GitRepo
    host_dir: Path
    """A dir of the worker's disk, outside every source: it must stay empty."""
    host_file: Path


@pytest.fixture(scope="module")
def hostile(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Hostile]:
    root = tmp_path_factory.mktemp("hostile")
    sample = make_sample_repo(root / "git")
    host_dir = root / "host-dir"
    host_dir.mkdir()
    host_file = root / "host-file"
    host_file.write_text("a file of the worker\n")
    repo = GitRepo(sample.repo.root, "hostile/links")
    for name, target in {"ctx": host_dir, "conf": host_dir, "Dockerfile.link": host_file}.items():
        (repo.work / name).symlink_to(target)
    repo.commit({"Dockerfile": DOCKERFILE}, "links out of the source")
    with live_with_project(root, sample, "Hostile") as live:
        yield Hostile(live, repo, host_dir, host_file)


def job_build(hostile: Hostile, name: str, repo: GitRepo, **fields: Any) -> dict[str, Any]:
    dockerfile = fields.pop("dockerfile", {})
    body = {
        "name": name,
        "billing": {"deploymentPlan": "nf-compute-20"},
        "backoffLimit": 0,
        "deployment": {
            "vcs": {"projectUrl": repo.url, "projectType": "github", "projectBranch": "main"}
        },
        "buildSettings": {
            "dockerfile": {"dockerFilePath": "/Dockerfile", "dockerWorkDir": "/"} | dockerfile
        },
    } | fields
    live = hostile.live
    job = live.post("/jobs/manual", body)["id"]
    started = live.post(f"/jobs/{job}/build", {})
    return live.wait_for(f"/jobs/{job}/build/{started['id']}")


PLANTED = {"data": b64(b"planted by a build\n")}


def test_a_symlinked_docker_work_dir_gets_no_build_file_written_through_it(
    hostile: Hostile,
) -> None:
    build = job_build(
        hostile,
        "linked context",
        hostile.repo,
        dockerfile={"dockerWorkDir": "/ctx"},
        buildFiles={"/planted.txt": PLANTED},
    )
    assert list(hostile.host_dir.iterdir()) == []
    assert build["status"] == "FAILURE", build
    assert "dockerWorkDir /ctx leads outside the source" in build["message"]


def test_a_build_file_through_a_symlink_is_refused(hostile: Hostile) -> None:
    build = job_build(
        hostile, "linked build file", hostile.repo, buildFiles={"/conf/planted.txt": PLANTED}
    )
    assert build["status"] == "FAILURE", build
    assert "buildFiles /conf/planted.txt leads outside the build context" in build["message"]
    assert list(hostile.host_dir.iterdir()) == []


def test_a_symlinked_dockerfile_is_refused_before_any_file_is_written(hostile: Hostile) -> None:
    build = job_build(
        hostile,
        "linked dockerfile",
        hostile.repo,
        dockerfile={"dockerFilePath": "/Dockerfile.link"},
        buildFiles={"/planted.txt": PLANTED},
    )
    assert build["status"] == "FAILURE", build
    assert "dockerFilePath /Dockerfile.link leads outside the source" in build["message"]
    assert hostile.host_file.read_text() == "a file of the worker\n"
    assert list(hostile.host_dir.iterdir()) == []


# ---- bundles -------------------------------------------------------------------------------


def tar_of(*entries: tarfile.TarInfo | tuple[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w") as tar:
        for entry in entries:
            if isinstance(entry, tarfile.TarInfo):
                tar.addfile(entry)
            else:
                name, content = entry
                info = tarfile.TarInfo(name)
                info.size = len(content)
                tar.addfile(info, io.BytesIO(content))
    return buffer.getvalue()


def link(name: str, target: str, kind: bytes = tarfile.SYMTYPE) -> tarfile.TarInfo:
    info = tarfile.TarInfo(name)
    info.type = kind
    info.linkname = target
    return info


@pytest.fixture
def bundle_server() -> Iterator[tuple[dict[str, bytes], str]]:
    """Serves `<url>/<name>` from the dict it yields."""
    bundles: dict[str, bytes] = {}
    with serve_files(bundles) as base:
        yield bundles, base


def escaping_bundles(host_dir: Path, host_file: Path, dest: Path) -> dict[str, bytes]:
    climb = os.path.relpath(host_dir, dest)
    return {
        "absolute-symlink": tar_of(link("out", str(host_dir)), ("out/planted", b"x")),
        "relative-symlink": tar_of(link("out", climb), ("out/planted", b"x")),
        "symlink-chain": tar_of(link("a", "."), link("a/b", climb), ("a/b/planted", b"x")),
        "hardlink-out": tar_of(link("hard", str(host_file), tarfile.LNKTYPE), ("hard", b"x")),
        "hardlink-climbing": tar_of(
            link("hard", os.path.relpath(host_file, dest), tarfile.LNKTYPE), ("hard", b"x")
        ),
        "dotdot-name": tar_of((f"{climb}/planted", b"x")),
        "device": tar_of(link("null", "", tarfile.CHRTYPE)),
    }


@pytest.mark.anyio
@pytest.mark.parametrize(
    "case",
    [
        "absolute-symlink",
        "relative-symlink",
        "symlink-chain",
        "hardlink-out",
        "hardlink-climbing",
        "dotdot-name",
        "device",
    ],
)
async def test_a_bundle_cannot_unpack_outside_its_source(
    case: str, tmp_path: Path, bundle_server: tuple[dict[str, bytes], str]
) -> None:
    bundles, base = bundle_server
    host_dir = tmp_path / "host-dir"
    host_dir.mkdir()
    host_file = tmp_path / "host-file"
    host_file.write_text("a file of the worker\n")
    dest = tmp_path / "build" / "source"
    bundles[case] = escaping_bundles(host_dir, host_file, dest)[case]

    with pytest.raises(BuildFailed, match="not a usable tar"):
        await fetch_bundle(
            f"{base}/{case}",
            dest,
            max_bytes=1 << 20,
            timeout=30,
            allow=["127.0.0.0/8"],
            on_line=lambda _: None,
        )
    assert list(host_dir.iterdir()) == []
    assert host_file.read_text() == "a file of the worker\n"


@pytest.mark.anyio
async def test_an_absolute_name_in_a_bundle_lands_inside_the_source(
    tmp_path: Path, bundle_server: tuple[dict[str, bytes], str]
) -> None:
    bundles, base = bundle_server
    host_dir = tmp_path / "host-dir"
    host_dir.mkdir()
    bundles["absolute"] = tar_of((f"{host_dir}/planted", b"x"))
    dest = tmp_path / "build" / "source"

    await fetch_bundle(
        f"{base}/absolute",
        dest,
        max_bytes=1 << 20,
        timeout=30,
        allow=["127.0.0.0/8"],
        on_line=lambda _: None,
    )
    assert (dest / host_dir.relative_to("/") / "planted").read_bytes() == b"x"
    assert list(host_dir.iterdir()) == []


def git_dir_that_runs(marker: Path) -> list[tarfile.TarInfo | tuple[str, bytes]]:
    """A `.git` dir whose config and hooks write `marker` when any git command runs in it."""
    hook = f"#!/bin/sh\necho ran >> {marker}\n".encode()
    config = (
        "[core]\n"
        "\trepositoryformatversion = 0\n"
        f"\tfsmonitor = echo fsmonitor >> {marker}\n"
        "\thooksPath = .git/hooks\n"
        f"\tsshCommand = echo ssh >> {marker}\n"
        '[filter "pwn"]\n'
        f"\tsmudge = echo smudge >> {marker}\n"
        f"\tclean = echo clean >> {marker}\n"
    ).encode()
    entries: list[tarfile.TarInfo | tuple[str, bytes]] = [
        (".git/HEAD", b"ref: refs/heads/main\n"),
        (".git/config", config),
        (".gitattributes", b"* filter=pwn\n"),
    ]
    for name in ("post-checkout", "pre-commit", "post-index-change", "reference-transaction"):
        info = tarfile.TarInfo(f".git/hooks/{name}")
        info.size, info.mode = len(hook), 0o755
        entries.append((info.name, hook))
    return entries


def test_a_bundled_git_dir_is_never_run(
    hostile: Hostile, bundle_server: tuple[dict[str, bytes], str], tmp_path: Path
) -> None:
    marker = tmp_path / f"ran-{uuid.uuid4().hex}"
    bundles, base = bundle_server
    bundles["git.tar"] = tar_of(
        ("Dockerfile", DOCKERFILE.encode()), ("app.txt", b"app\n"), *git_dir_that_runs(marker)
    )
    live = hostile.live
    body = {
        "name": "bundled git dir",
        "billing": {"buildPlan": "nf-compute-200-8"},
        "buildSource": "bundle",
        "buildSettings": {"dockerfile": {"dockerFilePath": "/Dockerfile", "dockerWorkDir": "/"}},
    }
    service = live.post("/services/build", body)["id"]
    started = live.post(f"/services/{service}/build", {"bundleUrl": f"{base}/git.tar"})
    build = live.wait_for(f"/services/{service}/build/{started['id']}")

    assert build["status"] == "SUCCESS", build
    assert not marker.exists(), marker.read_text()


def test_a_repository_that_ships_hooks_runs_none_with_include_git_folder(
    hostile: Hostile, tmp_path: Path
) -> None:
    marker = tmp_path / f"ran-{uuid.uuid4().hex}"
    repo = GitRepo(hostile.repo.root, "hostile/hooks")
    hook = f"#!/bin/sh\necho ran >> {marker}\n"
    repo.commit(
        {
            "Dockerfile": DOCKERFILE,
            ".githooks/post-checkout": hook,
            ".gitconfig": f"[core]\n\thooksPath = .githooks\n\tfsmonitor = {hook}\n",
            ".gitattributes": "* filter=pwn\n",
        }
    )
    build = job_build(
        hostile,
        "shipped hooks",
        repo,
        buildConfiguration={"includeGitFolder": True, "fullGitClone": True},
    )
    assert build["status"] == "SUCCESS", build
    assert not marker.exists(), marker.read_text()


# ---- runtime files -------------------------------------------------------------------------


@pytest.fixture
def linked_image() -> Iterator[tuple[str, str]]:
    """An image whose `/data` is a symlink to `/tmp/<unique dir>`: its tag and that dir."""
    unique = f"dockyard-sec-{uuid.uuid4().hex[:12]}"
    tag = f"local/{unique}:1"
    dockerfile = f"FROM local/busybox:1\nRUN mkdir -p /tmp/{unique} && ln -s /tmp/{unique} /data\n"
    env = {**os.environ, "DOCKER_HOST": DOCKER_HOST, "DOCKER_BUILDKIT": "1"}
    subprocess.run(
        [DOCKER_CLI, "build", "--quiet", "--network=none", "--tag", tag, "-"],
        input=dockerfile.encode(),
        env=env,
        check=True,
        capture_output=True,
    )
    try:
        yield tag, f"/tmp/{unique}"
    finally:
        subprocess.run([DOCKER_CLI, "rmi", "--force", tag], env=env, capture_output=True)


@pytest.mark.anyio
async def test_a_runtime_file_through_an_image_symlink_stays_in_the_container(
    linked_image: tuple[str, str],
) -> None:
    tag, linked = linked_image
    host_dir = Path(linked)
    host_dir.mkdir()  # were the link followed on the host, the write would succeed here
    engine = DockerEngine(DOCKER_HOST)
    spec = ContainerSpec(
        name=f"dockyard-sec-{uuid.uuid4().hex[:12]}",
        image=tag,
        command=["cat", f"{linked}/x"],
        labels={"dockyard.test": "1"},
        network_mode="none",
        files={"/data/x": b"runtime file\n"},
    )
    try:
        state = await engine.start(spec)
        final = await engine.wait(state.id)
        lines: list[str] = []
        await engine.follow_logs(state.id, texts_into(lines))
        await engine.remove(state.id)
        assert (final.exit_code, lines) == (0, ["runtime file"])
        assert list(host_dir.iterdir()) == []
    finally:
        for entry in host_dir.iterdir():
            entry.unlink()
        host_dir.rmdir()
