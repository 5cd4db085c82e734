"""BuildkitBuilder on the real Docker engine, images FROM local/busybox:1."""

from __future__ import annotations

import asyncio
import contextlib
import tempfile
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import docker
import pytest
from docker.errors import ImageNotFound

from dockyard.engine.buildkit import BuildkitBuilder
from dockyard.errors import BuildFailed, EngineUnavailable
from dockyard.logs.masking import masker
from tests.engine.conftest import DOCKER_HOST, processes_mentioning

pytestmark = pytest.mark.anyio

STAGES = """\
FROM local/busybox:1 AS base
ARG GREETING=hello
RUN echo "$GREETING" > /greeting.txt
FROM base AS final
RUN echo final > /final.txt
"""
SECRET_VALUE = "s3cret-value-4f1c"
SECRET_USE = "FROM local/busybox:1\nRUN --mount=type=secret,id=token cat /run/secrets/token\n"


@pytest.fixture
def builder() -> BuildkitBuilder:
    return BuildkitBuilder(DOCKER_HOST)


@pytest.fixture
def source(tmp_path: Path) -> Path:
    source = tmp_path / "source"
    source.mkdir()
    return source


@pytest.fixture
def tag(docker_client: docker.DockerClient) -> Iterator[str]:
    """A fresh tag, its image removed afterwards."""
    tag = f"dockyard-test/build:{uuid.uuid4().hex[:12]}"
    yield tag
    with contextlib.suppress(ImageNotFound):
        docker_client.images.remove(tag, force=True)


def run_in(docker_client: docker.DockerClient, image: str, *command: str) -> str:
    output: bytes = docker_client.containers.run(
        image, list(command), network_mode="none", remove=True
    )
    return output.decode()


@pytest.mark.e2e
async def test_build_with_an_argument_and_a_target(
    builder: BuildkitBuilder, source: Path, tag: str, docker_client: docker.DockerClient
) -> None:
    (source / "docker").mkdir()
    (source / "docker" / "Dockerfile").write_text(STAGES)
    lines: list[str] = []
    image_id = await builder.build(
        source,
        tag=tag,
        dockerfile="/docker/Dockerfile",
        target="base",
        build_args={"GREETING": "hi from arg; $(not a shell)"},
        on_line=lines.append,
    )
    assert image_id.startswith("sha256:")
    assert docker_client.images.get(tag).id == image_id
    greeting = run_in(docker_client, tag, "cat", "/greeting.txt")
    assert greeting == "hi from arg; $(not a shell)\n"
    assert "final.txt" not in run_in(docker_client, tag, "ls", "/").split()
    assert any("RUN echo" in line for line in lines)


@pytest.mark.e2e
async def test_build_argument_values_are_never_on_a_command_line(
    builder: BuildkitBuilder,
    source: Path,
    tag: str,
    docker_client: docker.DockerClient,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    marker = f"arg-value-{uuid.uuid4().hex[:12]}"
    monkeypatch.setenv("DOCKYARD_SECRET_KEY", f"key-{marker}")
    (source / "Dockerfile").write_text(
        'FROM local/busybox:1\nARG MARKER\nRUN sleep 3 && echo "$MARKER" > /m\n'
    )
    build = asyncio.create_task(
        builder.build(source, tag=tag, build_args={"MARKER": marker}, use_cache=False)
    )
    build_environments: list[bytes] = []
    while not build.done():
        assert not processes_mentioning(marker)
        build_environments += environments_of(f"--tag={tag}")
        await asyncio.sleep(0.05)
    await build
    assert build_environments, "the docker build process was never seen"
    assert all(f"MARKER={marker}".encode() in env for env in build_environments)
    assert not any(b"DOCKYARD_" in env for env in build_environments)
    assert run_in(docker_client, tag, "cat", "/m") == f"{marker}\n"


def environments_of(marker: str) -> list[bytes]:
    """The environments of the live processes whose command line contains `marker`."""
    found = []
    for entry in Path("/proc").iterdir():
        with contextlib.suppress(OSError):
            if marker.encode() in (entry / "cmdline").read_bytes():
                found.append((entry / "environ").read_bytes())
    return [environ for environ in found if environ]  # empty once the process exited


@pytest.mark.e2e
async def test_secret_mount_is_readable_in_run_but_left_nowhere(
    builder: BuildkitBuilder, source: Path, tag: str, docker_client: docker.DockerClient
) -> None:
    (source / "Dockerfile").write_text(SECRET_USE)
    scratch_dirs_before = set(Path(tempfile.gettempdir()).glob("dockyard-build-*"))
    lines: list[str] = []
    await builder.build(
        source,
        tag=tag,
        secrets={"token": SECRET_VALUE.encode()},
        use_cache=False,
        on_line=lines.append,
    )
    assert any(SECRET_VALUE in line for line in lines), "\n".join(lines)  # read
    # The build task masks these lines with the one masker of logs/.
    mask = masker([SECRET_VALUE])
    assert not any(SECRET_VALUE in mask(line) for line in lines)
    history = docker_client.api.history(tag)
    assert history and not any(SECRET_VALUE in str(layer) for layer in history)
    saved = b"".join(docker_client.images.get(tag).save())
    assert SECRET_VALUE.encode() not in saved
    assert set(Path(tempfile.gettempdir()).glob("dockyard-build-*")) == scratch_dirs_before


@pytest.mark.e2e
async def test_cache_is_used_unless_turned_off(
    builder: BuildkitBuilder, source: Path, tag: str
) -> None:
    (source / "Dockerfile").write_text(f"FROM local/busybox:1\nRUN echo {uuid.uuid4()}\n")
    await builder.build(source, tag=tag)
    cached: list[str] = []
    await builder.build(source, tag=tag, on_line=cached.append)
    uncached: list[str] = []
    await builder.build(source, tag=tag, use_cache=False, on_line=uncached.append)
    assert run_step_cached(cached)
    assert not run_step_cached(uncached)


def run_step_cached(lines: list[str]) -> bool:
    vertex = next(line.split()[0] for line in lines if "[2/2] RUN echo" in line)
    return f"{vertex} CACHED" in lines


@pytest.mark.e2e
async def test_failing_step_is_named_with_its_last_lines(
    builder: BuildkitBuilder, source: Path, tag: str
) -> None:
    (source / "Dockerfile").write_text(
        "FROM local/busybox:1\nRUN echo started\nRUN echo broken-widget >&2; false\n"
    )
    with pytest.raises(BuildFailed) as failure:
        await builder.build(source, tag=tag, use_cache=False)
    message = failure.value.message
    assert message.startswith("Build failed at step [3/3] RUN echo broken-widget >&2; false:")
    assert "exit code: 1" in message
    assert message.endswith("Last output of that step:\nbroken-widget")


@pytest.mark.e2e
async def test_dockerfile_error_is_reported(
    builder: BuildkitBuilder, source: Path, tag: str
) -> None:
    (source / "Dockerfile").write_text("FROM local/busybox:1\nFROB nicate\n")
    with pytest.raises(BuildFailed, match="unknown instruction: FROB"):
        await builder.build(source, tag=tag)


@pytest.mark.e2e
async def test_cancellation_leaves_nothing_running(
    builder: BuildkitBuilder, source: Path, docker_client: docker.DockerClient
) -> None:
    marker = f"cancel-{uuid.uuid4().hex[:12]}"
    (source / "Dockerfile").write_text(f"FROM local/busybox:1\nRUN sleep 60; echo {marker}\n")
    task = asyncio.create_task(builder.build(source, tag=f"dockyard-test/{marker}:1"))
    await wait_for(lambda: len(processes_mentioning(marker)) >= 2, "the build never started")
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    await wait_for(lambda: not processes_mentioning(marker), "the build is still running")
    assert not docker_client.images.list(name=f"dockyard-test/{marker}")


async def wait_for(condition: Callable[[], bool], failure: str, seconds: float = 20) -> None:
    for _ in range(int(seconds / 0.1)):
        if condition():
            return
        await asyncio.sleep(0.1)
    pytest.fail(failure)


@pytest.mark.parametrize(
    ("dockerfile", "context"),
    [("/../Dockerfile", "/"), ("/Dockerfile", "/../.."), ("../../../../etc/passwd", "/")],
)
async def test_paths_outside_the_source_are_refused(
    builder: BuildkitBuilder, source: Path, dockerfile: str, context: str
) -> None:
    (source / "Dockerfile").write_text("FROM local/busybox:1\n")
    with pytest.raises(BuildFailed, match="leads outside the source"):
        await builder.build(source, tag="x", dockerfile=dockerfile, context=context)


async def test_symlinks_out_of_the_source_are_refused(
    builder: BuildkitBuilder, source: Path
) -> None:
    (source / "Dockerfile").symlink_to("/etc/passwd")
    (source / "real.Dockerfile").write_text("FROM local/busybox:1\n")
    (source / "ctx").symlink_to("/etc")
    with pytest.raises(BuildFailed, match="Dockerfile path /Dockerfile leads outside"):
        await builder.build(source, tag="x")
    with pytest.raises(BuildFailed, match="Build context path /ctx leads outside"):
        await builder.build(source, tag="x", dockerfile="/real.Dockerfile", context="/ctx")


async def test_missing_dockerfile_is_reported(builder: BuildkitBuilder, source: Path) -> None:
    with pytest.raises(BuildFailed, match="Dockerfile /Dockerfile does not exist"):
        await builder.build(source, tag="x")


@pytest.mark.parametrize(
    "options",
    [
        {"secrets": {"token,src=/etc/passwd": b"x"}},
        {"build_args": {"A=B": "c"}},
        {"target": "--network=bridge"},
    ],
)
async def test_names_that_would_read_as_options_are_refused(
    builder: BuildkitBuilder, source: Path, options: dict[str, object]
) -> None:
    (source / "Dockerfile").write_text("FROM local/busybox:1\n")
    with pytest.raises(BuildFailed, match="Invalid"):
        await builder.build(source, tag="x", **options)  # type: ignore[arg-type]


@pytest.mark.parametrize("name", ["DOCKER_HOST", "PATH", "docker_config", "LD_PRELOAD"])
async def test_names_the_docker_cli_reads_are_refused_as_build_arguments(
    builder: BuildkitBuilder, source: Path, name: str
) -> None:
    (source / "Dockerfile").write_text("FROM local/busybox:1\n")
    with pytest.raises(BuildFailed, match=f"Invalid build argument name '{name}'.*reads it"):
        await builder.build(source, tag="x", build_args={name: "tcp://example.invalid:2375"})


async def test_a_missing_engine_is_unavailable_not_a_failed_build(source: Path) -> None:
    (source / "Dockerfile").write_text("FROM local/busybox:1\n")
    with pytest.raises(EngineUnavailable, match="did not answer"):
        await BuildkitBuilder("unix:///nonexistent/docker.sock").build(source, tag="x")
