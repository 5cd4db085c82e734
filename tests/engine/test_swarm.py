"""SwarmEngine's job services on a real single-node swarm (scripts/swarm-up.sh, run here): the
DockerEngine tests that hold for any engine, run again on it, and the swarm's own cases."""

from __future__ import annotations

import asyncio
import contextlib
import os
import subprocess
import uuid
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import docker
import pytest
from docker.errors import ImageNotFound

from dockyard.config import ContainerRuntime, RunEngine, Settings
from dockyard.engine.base import ContainerSpec, RegistryCredentials
from dockyard.engine.registry import DockerPusher
from dockyard.engine.swarm import LABEL_FILES_OF, SwarmEngine
from dockyard.errors import RunFailed
from dockyard.worker.loop import check_run_engine
from tests.engine import test_containers as shared
from tests.engine.conftest import DOCKER_HOST

pytestmark = [pytest.mark.anyio, pytest.mark.e2e]

SWARM_UP = Path(__file__).parents[2] / "scripts" / "swarm-up.sh"
GIB = 1024 * 1024 * 1024

test_env_and_files_are_visible_inside = shared.test_env_and_files_are_visible_inside
test_entrypoint_and_command_overrides = shared.test_entrypoint_and_command_overrides
test_a_second_start_of_a_name_raises_container_exists = (
    shared.test_a_second_start_of_a_name_raises_container_exists
)
test_follow_logs_delivers_every_line_and_returns_at_exit = (
    shared.test_follow_logs_delivers_every_line_and_returns_at_exit
)
test_follow_logs_since_a_time = shared.test_follow_logs_since_a_time
test_a_cancelled_follow_logs_leaves_no_thread_behind = (
    shared.test_a_cancelled_follow_logs_leaves_no_thread_behind
)
test_stop_sends_term_first = shared.test_stop_sends_term_first
test_stop_kills_after_the_grace = shared.test_stop_kills_after_the_grace
test_exec_gives_exit_codes_and_times_out = shared.test_exec_gives_exit_codes_and_times_out
test_labelled_finds_containers_running_or_not = shared.test_labelled_finds_containers_running_or_not
test_bad_file_paths_raise_run_failed = shared.test_bad_file_paths_raise_run_failed
test_architecture = shared.test_architecture


def ensure_swarm() -> None:
    """Make the test engine a single-node swarm manager (idempotent)."""
    environment = os.environ | {"DOCKER_HOST": DOCKER_HOST}
    done = subprocess.run(["bash", str(SWARM_UP)], capture_output=True, text=True, env=environment)
    assert done.returncode == 0, done.stderr


@pytest.fixture(scope="module", autouse=True)
def swarm() -> None:
    ensure_swarm()


@pytest.fixture
def engine() -> SwarmEngine:
    engine = SwarmEngine(DOCKER_HOST)
    engine.ping_sync()
    return engine


@pytest.fixture
def new_spec() -> Iterator[shared.NewSpec]:
    """Specs of uniquely named, labelled services on the host network (swarm services have no
    `none` network); removed afterwards with their secrets and containers."""
    names: list[str] = []

    def new_spec(*command: str, **fields: Any) -> ContainerSpec:
        name = f"dockyard-test-{uuid.uuid4().hex[:12]}"
        names.append(name)
        labels = {shared.TEST_LABEL: "1", **fields.pop("labels", {})}
        return ContainerSpec(
            name=name, image=shared.IMAGE, command=list(command) or None, labels=labels, **fields
        )

    yield new_spec

    async def remove_all() -> None:
        engine = SwarmEngine(DOCKER_HOST)
        for name in names:
            await engine.remove(name)

    asyncio.run(remove_all())


def service_spec(docker_client: docker.DockerClient, service_id: str) -> dict[str, Any]:
    spec: dict[str, Any] = docker_client.api.inspect_service(service_id)["Spec"]
    return spec


async def test_an_attempt_is_a_replicated_job_without_restarts(
    engine: SwarmEngine, new_spec: shared.NewSpec, docker_client: docker.DockerClient
) -> None:
    state = await engine.start(new_spec(*shared.shell("sleep 2; exit 3")))
    assert state.running and state.exit_code is None and state.finished_at is None
    usage = await engine.usage(state.id)  # the task's container, on this very node
    assert usage is not None and 0 < usage.memory_bytes <= (usage.memory_peak_bytes or 0)
    final = await engine.wait(state.id)
    assert await engine.usage(state.id) is None
    assert (final.id, final.running, final.exit_code) == (state.id, False, 3)
    assert final.started_at is not None and final.finished_at is not None
    assert final.started_at < final.finished_at
    assert len(docker_client.api.tasks(filters={"service": state.id})) == 1, "no restart"
    spec = service_spec(docker_client, state.id)
    assert spec["Mode"] == {"ReplicatedJob": {"MaxConcurrent": 1, "TotalCompletions": 1}}
    assert spec["TaskTemplate"]["RestartPolicy"]["Condition"] == "none"
    [network] = spec["TaskTemplate"]["Networks"]
    assert docker_client.api.inspect_network(network["Target"])["Name"] == "host"
    assert spec["Labels"][shared.TEST_LABEL] == "1"


async def test_limits_reach_the_service(
    engine: SwarmEngine, new_spec: shared.NewSpec, docker_client: docker.DockerClient
) -> None:
    spec = new_spec(
        *shared.shell("df -k /dev/shm | tail -n 1"),
        memory_bytes=64 * 1024 * 1024,
        shm_size_bytes=16 * 1024 * 1024,
        nano_cpus=500_000_000,
        pids_limit=100,
        storage_bytes=GIB,
    )
    exit_code, lines = await shared.run_to_end(engine, spec)
    assert exit_code == 0
    assert lines[0].split()[1] == str(16 * 1024), "a tmpfs of the shm size at /dev/shm"
    template = service_spec(docker_client, spec.name)["TaskTemplate"]
    assert template["Resources"]["Limits"] == {
        "NanoCPUs": 500_000_000,
        "MemoryBytes": 64 * 1024 * 1024,
        "Pids": 100,
    }
    assert template["ContainerSpec"]["CapabilityDrop"] == ["NET_RAW"]
    [task] = docker_client.api.tasks(filters={"service": spec.name})
    container_id = task["Status"]["ContainerStatus"]["ContainerID"]
    host_config = docker_client.api.inspect_container(container_id)["HostConfig"]
    assert (host_config["PidsLimit"], host_config["CapDrop"]) == (100, ["NET_RAW"])
    assert host_config["Privileged"] is False
    assert not await engine.supports_storage_limit()


async def test_remove_takes_the_file_secrets_and_the_task_container(
    engine: SwarmEngine, new_spec: shared.NewSpec, docker_client: docker.DockerClient
) -> None:
    spec = new_spec("cat", "/etc/app/a.txt", files={"/etc/app/a.txt": b"first\n"})
    exit_code, lines = await shared.run_to_end(engine, spec)
    assert (exit_code, lines) == (0, ["first"])
    label = {"label": f"{LABEL_FILES_OF}={spec.name}"}
    assert len(docker_client.secrets.list(filters=label)) == 1
    await engine.remove(spec.name)
    assert docker_client.secrets.list(filters=label) == []
    of_service = {"label": f"com.docker.swarm.service.name={spec.name}"}
    assert docker_client.containers.list(all=True, filters=of_service) == []
    assert await engine.find(spec.name) is None


async def test_a_task_that_cannot_start_is_removed(
    engine: SwarmEngine, new_spec: shared.NewSpec
) -> None:
    absent_image = f"dockyard-test/absent:{uuid.uuid4().hex}"
    failures = {
        r"cannot start.*no such file": new_spec(entrypoint=["/no/such/binary"]),
        r"cannot start.*No such image": replace(new_spec("true"), image=absent_image),
    }
    for message, spec in failures.items():
        with pytest.raises(RunFailed, match=message):
            await engine.start(spec)
        assert await engine.find(spec.name) is None


async def test_the_engine_runs_tasks_under_the_nodes_default_runtime(
    engine: SwarmEngine, docker_client: docker.DockerClient
) -> None:
    assert await engine.runtime() == docker_client.info()["DefaultRuntime"]
    for runtime, warned in ((ContainerRuntime.RUNSC, True), (ContainerRuntime.AUTO, False)):
        settings = Settings(
            docker_host=DOCKER_HOST, run_engine=RunEngine.SWARM, container_runtime=runtime
        )
        warnings = check_run_engine(settings)
        assert any("swarm services cannot choose a runtime" in w for w in warnings) == warned


async def test_the_none_network_is_refused(engine: SwarmEngine, new_spec: shared.NewSpec) -> None:
    spec = new_spec("true", network_mode="none")
    with pytest.raises(RunFailed, match="'none' network"):
        await engine.start(spec)
    assert await engine.find(spec.name) is None


async def test_the_swarm_pulls_a_registry_image_with_its_login(
    engine: SwarmEngine,
    new_spec: shared.NewSpec,
    registry_login: RegistryCredentials,
    docker_client: docker.DockerClient,
) -> None:
    """`ensure_image` leaves no tag of the image on the engine, so only the swarm's own pull
    (with the login handed over) can run the service."""
    reference = f"{registry_login.registry}/dockyard-test/busybox:{uuid.uuid4().hex[:12]}"
    try:
        await DockerPusher(DOCKER_HOST, registry_login).push(shared.IMAGE, reference)
        docker_client.images.remove(reference)
        await engine.ensure_image(reference, registry_login)
        with pytest.raises(ImageNotFound):
            docker_client.images.get(reference)
        spec = replace(new_spec("echo", "pulled"), image=reference)
        assert await shared.run_to_end(engine, spec) == (0, ["pulled"])
    finally:
        with contextlib.suppress(ImageNotFound):
            docker_client.images.remove(reference)
