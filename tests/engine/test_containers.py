"""DockerEngine's job containers on the real Docker engine, from local/busybox:1."""

from __future__ import annotations

import asyncio
import contextlib
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import replace
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import docker
import pytest
from docker.errors import ImageNotFound, NotFound

from dockyard.engine import containers
from dockyard.engine.base import (
    ContainerExists,
    ContainerSpec,
    RegistryCredentials,
    TimedLineSink,
)
from dockyard.engine.containers import DockerEngine
from dockyard.engine.registry import DockerPusher
from dockyard.engine.retries import RegistryRetries
from dockyard.errors import EngineUnavailable, RunFailed
from tests.engine.conftest import CONTAINER_RUNTIME, DOCKER_HOST

pytestmark = [pytest.mark.anyio, pytest.mark.e2e]

IMAGE = "local/busybox:1"
TEST_LABEL = "dockyard.test"
READY = "echo ready; "
TRAPS_TERM = 'trap "echo got TERM; exit 0" TERM; ' + READY + "while true; do sleep 0.1; done"
# Ignored explicitly: Linux spares a PID 1 without a handler, gVisor (runsc) does not.
IGNORES_TERM = "trap '' TERM; " + READY + "while true; do sleep 0.1; done"

NewSpec = Callable[..., ContainerSpec]


@pytest.fixture
def engine() -> DockerEngine:
    return DockerEngine(DOCKER_HOST, CONTAINER_RUNTIME)


@pytest.fixture
def new_spec(docker_client: docker.DockerClient) -> Iterator[NewSpec]:
    """Specs of uniquely named, labelled containers on no network; removed afterwards."""
    names: list[str] = []

    def new_spec(*command: str, **fields: Any) -> ContainerSpec:
        name = f"dockyard-test-{uuid.uuid4().hex[:12]}"
        names.append(name)
        labels = {TEST_LABEL: "1", **fields.pop("labels", {})}
        return ContainerSpec(
            name=name,
            image=IMAGE,
            command=list(command) or None,
            labels=labels,
            network_mode="none",
            **fields,
        )

    yield new_spec
    for name in names:
        with contextlib.suppress(NotFound):
            docker_client.containers.get(name).remove(force=True)


def shell(script: str) -> tuple[str, str, str]:
    return ("sh", "-c", script)


async def run_to_end(engine: DockerEngine, spec: ContainerSpec) -> tuple[int | None, list[str]]:
    """Start `spec`, wait for its exit; its exit code and its log lines."""
    state = await engine.start(spec)
    final = await engine.wait(state.id)
    lines: list[str] = []
    await engine.follow_logs(state.id, texts_into(lines))
    return final.exit_code, lines


def texts_into(lines: list[str]) -> TimedLineSink:
    """A sink of a container's timed lines that keeps their text."""
    return lambda line, _at: lines.append(line)


async def wait_for_line(lines: list[str], wanted: str, seconds: float = 10) -> None:
    deadline = time.monotonic() + seconds
    while wanted not in lines:
        assert time.monotonic() < deadline, f"no {wanted!r} in {lines}"
        await asyncio.sleep(0.05)


async def test_start_then_wait_gives_the_exit_code(engine: DockerEngine, new_spec: NewSpec) -> None:
    for code in (0, 3):
        state = await engine.start(new_spec(*shell(f"sleep 0.2; exit {code}")))
        assert state.running
        assert state.exit_code is None
        assert state.finished_at is None
        final = await engine.wait(state.id)
        assert final.id == state.id
        assert not final.running
        assert final.exit_code == code
        assert not final.oom_killed
        assert isinstance(final.started_at, datetime)
        assert isinstance(final.finished_at, datetime)
        assert final.started_at.tzinfo is not None
        assert final.started_at < final.finished_at


async def test_env_and_files_are_visible_inside(engine: DockerEngine, new_spec: NewSpec) -> None:
    spec = new_spec(
        *shell(
            'echo "GREETING=$GREETING"; cat /etc/app/config.txt; cat /tmp/deep/er/data.bin; '
            "ls -l /etc/app/config.txt; ls -ld /etc/app /tmp"
        ),
        env={"GREETING": "hi there; $(not a shell)"},
        files={
            "/etc/app/config.txt": b"key=value\n",
            "/tmp/deep/er/data.bin": b"\xc3\xa9t\xc3\xa9\n",
        },
    )
    exit_code, lines = await run_to_end(engine, spec)
    assert exit_code == 0
    assert lines[:3] == ["GREETING=hi there; $(not a shell)", "key=value", "été"]
    assert lines[3].startswith("-rw-r--r--")
    assert lines[4].startswith("drwxr-xr-x") and lines[4].endswith("/etc/app")
    # No tar entry for existing parent dirs: /tmp keeps the image's mode and date.
    assert lines[5].startswith("drwxr-xr-x") and "1970" not in lines[5]


async def test_entrypoint_and_command_overrides(engine: DockerEngine, new_spec: NewSpec) -> None:
    both = new_spec("b c", entrypoint=["echo", "a"])
    assert await run_to_end(engine, both) == (0, ["a b c"])
    entrypoint_only = new_spec(entrypoint=["sh", "-c", "echo $0-$1", "x", "y"])
    assert await run_to_end(engine, entrypoint_only) == (0, ["x-y"])


async def test_a_second_start_of_a_name_raises_container_exists(
    engine: DockerEngine, new_spec: NewSpec
) -> None:
    spec = new_spec("sleep", "5")
    first = await engine.start(spec)
    with pytest.raises(ContainerExists) as raised:
        await engine.start(spec)
    assert raised.value.state.id == first.id
    assert raised.value.state.running
    found = await engine.find(spec.name)
    assert found is not None and found.id == first.id
    assert await engine.find(f"dockyard-test-missing-{uuid.uuid4().hex}") is None
    assert await engine.find(first.id[:12]) is None  # an id prefix is not a name


async def test_follow_logs_delivers_every_line_and_returns_at_exit(
    engine: DockerEngine, new_spec: NewSpec
) -> None:
    script = (
        "for i in 1 2 3 4 5; do echo line $i; sleep 0.1; done; "
        "echo to-stderr >&2; printf 'bad \\377 byte\\nno newline'"
    )
    state = await engine.start(new_spec(*shell(script)))
    lines: list[str] = []
    await asyncio.wait_for(engine.follow_logs(state.id, texts_into(lines)), timeout=20)
    # The engine keeps the order within stdout and within stderr, not across them.
    assert [line for line in lines if line != "to-stderr"] == [
        *(f"line {i}" for i in range(1, 6)),
        "bad \ufffd byte",
        "no newline",
    ]
    assert lines.count("to-stderr") == 1


async def test_follow_logs_since_a_time(engine: DockerEngine, new_spec: NewSpec) -> None:
    state = await engine.start(new_spec(*shell("echo early; sleep 1; echo late")))
    assert state.started_at is not None
    halfway = state.started_at + timedelta(seconds=0.5)
    lines: list[str] = []
    await engine.follow_logs(state.id, texts_into(lines), since=halfway)
    assert lines == ["late"]


async def test_the_frames_a_followed_log_missed_are_read_again_from_the_last_one_read(
    engine: DockerEngine, new_spec: NewSpec
) -> None:
    state = await engine.start(new_spec(*shell("seq 300")))
    await engine.wait(state.id)
    api = engine.client.api

    def missed(after: bytes | None) -> list[bytes]:
        return list(containers.missed_frames(api, containers.CONTAINER_LOGS, state.id, None, after))

    frames = missed(None)
    assert [frame.partition(b" ")[2] for frame in frames] == [b"%d\n" % n for n in range(1, 301)]
    assert missed(frames[100]) == frames[101:]  # a flood: read from its time
    assert missed(frames[-3]) == frames[-2:]  # among the last few
    assert missed(frames[-1]) == []
    assert missed(b"2001-01-01T00:00:00.000000000Z gone\n") == []


def test_a_cancelled_follow_logs_leaves_no_thread_behind(
    engine: DockerEngine, new_spec: NewSpec
) -> None:
    spec = new_spec(
        *shell("i=0; while [ $i -lt 300 ]; do echo tick $i; i=$((i+1)); sleep 0.1; done")
    )
    lines: list[str] = []

    async def scenario() -> None:
        state = await engine.start(spec)
        follow = asyncio.create_task(engine.follow_logs(state.id, texts_into(lines)))
        await wait_for_line(lines, "tick 2")
        follow.cancel()
        with pytest.raises(asyncio.CancelledError):
            await follow
        delivered = len(lines)
        await asyncio.sleep(0.5)
        assert len(lines) == delivered  # nothing arrives after the cancel

    started = time.monotonic()
    asyncio.run(scenario())  # which waits for every thread of its default executor
    assert time.monotonic() - started < 10  # the container runs for 30 s


def test_wait_spans_its_slices_and_a_cancelled_one_leaves_no_thread_behind(
    engine: DockerEngine, new_spec: NewSpec, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(containers, "WAIT_SLICE_SECONDS", 1)
    cancelled_at: list[float] = []

    async def scenario() -> None:
        slow = await engine.start(new_spec(*shell("sleep 2.5; exit 4")))
        assert (await engine.wait(slow.id)).exit_code == 4
        endless = await engine.start(new_spec("sleep", "60"))
        with pytest.raises(TimeoutError):
            await asyncio.wait_for(engine.wait(endless.id), timeout=0.5)
        cancelled_at.append(time.monotonic())

    asyncio.run(scenario())  # which waits for every thread of its default executor
    assert time.monotonic() - cancelled_at[0] < 3


async def test_stop_sends_term_first(engine: DockerEngine, new_spec: NewSpec) -> None:
    state = await engine.start(new_spec(*shell(TRAPS_TERM)))
    lines: list[str] = []
    follow = asyncio.create_task(engine.follow_logs(state.id, texts_into(lines)))
    await wait_for_line(lines, "ready")
    started = time.monotonic()
    await engine.stop(state.id, grace_seconds=10)
    assert time.monotonic() - started < 5
    final = await engine.wait(state.id)
    await asyncio.wait_for(follow, timeout=5)
    assert final.exit_code == 0
    assert lines == ["ready", "got TERM"]
    await engine.stop(state.id, grace_seconds=1)  # exited already: no error


async def test_stop_kills_after_the_grace(engine: DockerEngine, new_spec: NewSpec) -> None:
    state = await engine.start(new_spec(*shell(IGNORES_TERM)))
    lines: list[str] = []
    follow = asyncio.create_task(engine.follow_logs(state.id, texts_into(lines)))
    await wait_for_line(lines, "ready")
    started = time.monotonic()
    await engine.stop(state.id, grace_seconds=1)
    assert 1 <= time.monotonic() - started < 10
    final = await engine.wait(state.id)
    await asyncio.wait_for(follow, timeout=5)
    assert final.exit_code == 137
    await engine.remove(state.id)
    assert await engine.find(state.id) is None
    await engine.remove(state.id)  # gone: no error
    await engine.stop(state.id, grace_seconds=1)


async def test_exec_gives_exit_codes_and_times_out(engine: DockerEngine, new_spec: NewSpec) -> None:
    state = await engine.start(new_spec("sleep", "60"))
    assert await engine.exec(state.id, ["true"], timeout=10) == 0
    assert await engine.exec(state.id, ["sh", "-c", "exit 5"], timeout=10) == 5
    with pytest.raises(RunFailed, match="no such file"):
        await engine.exec(state.id, ["/no/such/binary"], timeout=10)
    started = time.monotonic()
    with pytest.raises(TimeoutError):
        await engine.exec(state.id, ["sleep", "30"], timeout=0.5)
    assert time.monotonic() - started < 3


async def test_labelled_finds_containers_running_or_not(
    engine: DockerEngine, new_spec: NewSpec
) -> None:
    case = uuid.uuid4().hex
    running = await engine.start(new_spec("sleep", "60", labels={"dockyard.case": case}))
    exited = await engine.start(new_spec("true", labels={"dockyard.case": case}))
    await engine.wait(exited.id)
    found = {c.state.id: c for c in await engine.labelled("dockyard.case", case)}
    assert set(found) == {running.id, exited.id}
    assert found[running.id].state.running
    assert found[exited.id].state.exit_code == 0
    assert found[exited.id].labels["dockyard.case"] == case
    assert {running.id, exited.id} <= {c.state.id for c in await engine.labelled(TEST_LABEL)}
    assert await engine.labelled("dockyard.case", "no-such-case") == []


async def test_limits_reach_the_host_config(
    engine: DockerEngine, new_spec: NewSpec, docker_client: docker.DockerClient
) -> None:
    spec = new_spec(
        "true",
        memory_bytes=64 * 1024 * 1024,
        shm_size_bytes=16 * 1024 * 1024,
        nano_cpus=500_000_000,
        pids_limit=100,
        storage_bytes=1024 * 1024 * 1024,
    )
    state = await engine.start(spec)
    host_config = docker_client.api.inspect_container(state.id)["HostConfig"]
    assert host_config["Memory"] == host_config["MemorySwap"] == 64 * 1024 * 1024
    assert host_config["MemorySwappiness"] == 0
    assert host_config["ShmSize"] == 16 * 1024 * 1024
    assert host_config["NanoCpus"] == 500_000_000
    # Under runsc the engine counts the sandbox's host tasks: the limit is scaled for them.
    assert host_config["PidsLimit"] == (100 if CONTAINER_RUNTIME == "runc" else 1064)
    assert host_config["Runtime"] == CONTAINER_RUNTIME
    assert host_config["CapDrop"] == ["NET_RAW"]
    assert host_config["SecurityOpt"] == ["no-new-privileges"]
    assert host_config["Privileged"] is False
    assert not host_config["Binds"]
    assert host_config["NetworkMode"] == "none"
    assert not await engine.supports_storage_limit()  # overlay2 on extfs here
    assert not host_config.get("StorageOpt")


async def test_a_runtime_the_engine_lacks_fails_the_ping() -> None:
    with pytest.raises(EngineUnavailable, match="has no runtime 'kata'"):
        DockerEngine(DOCKER_HOST, "kata").ping_sync()


async def test_auto_runs_runsc_where_the_engine_has_it(docker_client: docker.DockerClient) -> None:
    has_runsc = "runsc" in docker_client.info()["Runtimes"]
    engine = DockerEngine(DOCKER_HOST, "auto")
    engine.ping_sync()
    assert await engine.runtime() == ("runsc" if has_runsc else "runc")
    assert await DockerEngine(DOCKER_HOST).runtime() == "runc"


async def test_bad_file_paths_raise_run_failed(engine: DockerEngine, new_spec: NewSpec) -> None:
    for path in ("relative/path", "/a/../b", "/", "/etc/app/"):
        spec = new_spec("true", files={path: b"x"})
        with pytest.raises(RunFailed, match="absolute file path"):
            await engine.start(spec)
        assert await engine.find(spec.name) is None


async def test_a_container_that_cannot_start_is_removed(
    engine: DockerEngine, new_spec: NewSpec
) -> None:
    spec = new_spec(entrypoint=["/no/such/binary"])
    with pytest.raises(RunFailed, match=r"cannot start.*no such file"):
        await engine.start(spec)
    assert await engine.find(spec.name) is None
    absent_image = replace(new_spec("true"), image=f"dockyard-test/absent:{uuid.uuid4().hex}")
    with pytest.raises(RunFailed, match="cannot be created"):
        await engine.start(absent_image)


async def test_architecture(engine: DockerEngine) -> None:
    assert await engine.architecture() == "x86"


async def test_an_engine_that_does_not_answer(tmp_path: Path) -> None:
    engine = DockerEngine(f"unix://{tmp_path}/no-docker.sock")
    with pytest.raises(EngineUnavailable):
        await engine.architecture()
    with pytest.raises(EngineUnavailable):
        await engine.find("anything")


async def test_ensure_image(
    engine: DockerEngine, registry_login: RegistryCredentials, docker_client: docker.DockerClient
) -> None:
    lines: list[str] = []
    await engine.ensure_image(IMAGE, on_line=lines.append)
    assert lines == []  # present: no pull
    reference = f"{registry_login.registry}/dockyard-test/busybox:{uuid.uuid4().hex[:12]}"
    try:
        await DockerPusher(DOCKER_HOST, registry_login).push(IMAGE, reference)
        docker_client.images.remove(reference)
        await engine.ensure_image(reference, registry_login, on_line=lines.append)
        assert docker_client.images.get(reference).id == docker_client.images.get(IMAGE).id
        assert any("Status: Downloaded newer image" in line for line in lines)
        assert not any("[=" in line for line in lines)  # no progress bars
    finally:
        with contextlib.suppress(ImageNotFound):
            docker_client.images.remove(reference)


async def test_ensure_image_of_a_missing_image_raises_run_failed(
    engine: DockerEngine, registry_login: RegistryCredentials
) -> None:
    missing = f"{registry_login.registry}/dockyard-test/missing:{uuid.uuid4().hex[:12]}"
    with pytest.raises(RunFailed, match=r"cannot be pulled.*not found"):
        await engine.ensure_image(missing, registry_login)
    patient = DockerEngine(DOCKER_HOST, retries=RegistryRetries((0.1,)))
    with pytest.raises(RunFailed, match=r"registry unavailable after 2 tries.*cannot be pulled"):
        await patient.ensure_image("127.0.0.1:1/nowhere/image:1")
    with pytest.raises(RunFailed, match="cannot be pulled"):
        await engine.ensure_image("Not A Valid Reference")
