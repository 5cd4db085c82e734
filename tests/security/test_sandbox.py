"""A hostile job against its container's sandbox, on the real engine, under each runtime: it
has no raw sockets, cannot gain privileges, cannot exhaust the host's processes, and gets
neither the host's files nor, under runsc, the host's kernel."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import docker
import pytest

from dockyard.runs.plans import plan_of
from tests.builds.conftest import LiveDockyard
from tests.live import DOCKER_HOST
from tests.runs.conftest import busybox_job, serving

pytestmark = pytest.mark.e2e

CAP_NET_RAW = 13
CAP_SYS_ADMIN = 21
PLAN = "nf-compute-20"  # busybox_job's
# Four times the plan's pids, few enough for its memory (the plan's OOM kill is not the test).
FORK_BOMB = 'n=0; while [ $n -lt 1000 ]; do sleep 60 & n=$((n + 1)); done; echo "started $n"'


@pytest.fixture(scope="module", params=["runc", "runsc"])
def runtime(request: pytest.FixtureRequest) -> str:
    name: str = request.param
    return name


@pytest.fixture(scope="module")
def live(tmp_path_factory: pytest.TempPathFactory, runtime: str) -> Iterator[LiveDockyard]:
    root = tmp_path_factory.mktemp(f"sandbox-{runtime}")
    with serving(root, DOCKYARD_CONTAINER_RUNTIME=runtime) as live:
        yield live


@pytest.fixture(scope="module")
def docker_client() -> Iterator[docker.DockerClient]:
    client = docker.DockerClient(base_url=DOCKER_HOST)
    yield client
    client.close()


def run_to_end(live: LiveDockyard, name: str, script: str) -> tuple[dict[str, Any], list[str]]:
    """Run `script` as a job's run until it concludes: the run and its log lines."""
    job = busybox_job(live, name, script)
    run_id = live.post(f"/jobs/{job}/runs", {})["id"]
    run = live.wait_for(f"/jobs/{job}/runs/{run_id}", timeout=120)
    return run, live.lines_of("run", run_id)


def status_fields(lines: list[str]) -> dict[str, str]:
    return dict(line.split(":\t", 1) for line in lines if ":\t" in line)


def test_the_job_has_no_raw_sockets_no_admin_and_no_new_privileges(
    live: LiveDockyard, runtime: str
) -> None:
    run, lines = run_to_end(live, "status", "cat /proc/self/status")

    assert run["status"] == "SUCCESS", run
    status = status_fields(lines)
    effective = int(status["CapEff"], 16)
    assert not effective & (1 << CAP_NET_RAW), status["CapEff"]
    assert not effective & (1 << CAP_SYS_ADMIN), status["CapEff"]
    if runtime == "runc":
        assert status["NoNewPrivs"] == "1"
    else:  # gVisor's /proc does not show it: the HostConfig test checks the option is set
        assert "NoNewPrivs" not in status


def test_ping_fails_for_want_of_a_raw_socket(live: LiveDockyard) -> None:
    run, lines = run_to_end(live, "ping", 'ping -c 1 -W 2 127.0.0.1; echo "ping exited with $?"')

    assert run["status"] == "SUCCESS", run
    assert "ping exited with 0" not in lines, lines
    refusals = ("ping: permission denied (are you root?)", "ping: can't create raw socket")
    assert any(line.startswith(refusals) for line in lines), lines


def test_a_fork_bomb_stops_at_the_pids_limit_and_the_worker_goes_on(live: LiveDockyard) -> None:
    run, lines = run_to_end(live, "fork bomb", FORK_BOMB)

    assert run["status"] == "FAILED", run
    assert "started 1000" not in lines, "the bomb went off in full"
    after, after_lines = run_to_end(live, "after the bomb", "echo still here")
    assert after["status"] == "SUCCESS", after
    assert "still here" in after_lines


def test_the_container_is_confined(
    live: LiveDockyard, runtime: str, docker_client: docker.DockerClient
) -> None:
    job = busybox_job(live, "inspected", "trap 'exit 0' TERM; sleep 30 & wait")
    run_id = live.post(f"/jobs/{job}/runs", {})["id"]
    path = f"/jobs/{job}/runs/{run_id}"
    live.wait_for(path, lambda run: run["active"] == 1, 60)
    try:
        (container,) = docker_client.containers.list(filters={"label": f"dockyard.run={run_id}"})
        host_config = container.attrs["HostConfig"]
        assert host_config["Privileged"] is False
        assert not host_config["Binds"]
        assert not host_config.get("Mounts")
        assert not container.attrs["Mounts"]
        assert host_config["SecurityOpt"] == ["no-new-privileges"]
        assert host_config["CapDrop"] == ["NET_RAW"]
        assert not host_config["CapAdd"]
        assert host_config["Runtime"] == runtime
        # The plan's memory, with no swap beyond it.
        assert host_config["Memory"] == host_config["MemorySwap"] == plan_of(PLAN).memory_bytes
        assert host_config["PidsLimit"] >= plan_of(PLAN).pids_limit
        if runtime == "runc":
            assert host_config["PidsLimit"] == plan_of(PLAN).pids_limit
        started = f"Attempt 1 started (runtime {runtime})"
        deadline = time.monotonic() + 30  # lines are stored in batches, a moment later
        while started not in live.lines_of("run", run_id) and time.monotonic() < deadline:
            time.sleep(0.2)
        assert started in live.lines_of("run", run_id)
    finally:
        live.delete(path)
        live.wait_for(path, timeout=60)  # concluded: its container is removed


def test_runsc_gives_the_job_a_kernel_of_its_own(live: LiveDockyard, runtime: str) -> None:
    if runtime != "runsc":
        pytest.skip("runc runs the job on the host's kernel: only namespaces separate them")
    run, lines = run_to_end(live, "kernel", "cat /proc/version; dmesg")

    assert run["status"] == "SUCCESS", run
    assert Path("/proc/version").read_text().strip() not in lines
    assert any("Starting gVisor" in line for line in lines), lines
