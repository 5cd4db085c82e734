"""A hostile project's build steps (on BuildKit and on kaniko) and jobs try to connect to
dockyard's own services (the API, the registry, PostgreSQL), to any other listener of the
worker's machine (on its loopback or at the gateway of the container's network) and to
another project's job; none of it connects. Containers of one project still reach each
other, and a project's network goes with it."""

from __future__ import annotations

import contextlib
import dataclasses
import socket
import threading
import time
import uuid
from collections.abc import Iterator

import docker
import pytest

from tests.builds.conftest import ENGINES, LiveDockyard, push_base_image
from tests.gc.test_gc import gc
from tests.live import DOCKER_HOST, free_port
from tests.runs.conftest import busybox_job, serving
from tests.runs.test_runs import start

pytestmark = pytest.mark.e2e

POSTGRES_PORT = 5432
LABEL_PROJECT = "dev.dockyard.project"
LABEL_INSTALLATION = "dev.dockyard.installation"
# Only the gateway of a container network on this machine is tried: with host networking the
# default route leads off the machine, where no test sends traffic.
GATEWAY = "GATEWAY=$(ip route | awk '/^default/ {print $3}'); case $GATEWAY in 100.6[67].*) ;; *) GATEWAY=none ;; esac"  # noqa: E501


def connect_script(targets: dict[str, tuple[str, int]]) -> str:
    """A shell script that tries each target (label -> host, port) and prints `OPEN label` or
    `SHUT label`; `$GATEWAY` names the gateway of the container's network."""
    tries = [
        f'if nc -w 2 {host} {port} </dev/null; then echo "OPEN {label}"; '
        f'else echo "SHUT {label}"; fi'
        for label, (host, port) in targets.items()
    ]
    return "\n".join([GATEWAY, 'echo "gateway: $GATEWAY"', *tries, "true"]) + "\n"


def verdicts(lines: list[str], labels: list[str]) -> dict[str, str]:
    """label -> OPEN / SHUT, from the lines a connect script printed."""
    found = {}
    for line in lines:
        for label in labels:
            for verdict in ("OPEN", "SHUT"):
                if line.endswith(f"{verdict} {label}"):
                    found[label] = verdict
    return found


@dataclasses.dataclass
class Listeners:
    """Two listeners of the test itself: one on the machine's loopback, one on every address."""

    loopback: int
    everywhere: int


@pytest.fixture(scope="module")
def listeners() -> Iterator[Listeners]:
    sockets = [socket.create_server(("127.0.0.1", 0)), socket.create_server(("0.0.0.0", 0))]
    stop = threading.Event()

    def accept(server: socket.socket) -> None:
        server.settimeout(0.2)
        while not stop.is_set():
            try:
                server.accept()[0].close()
            except TimeoutError:
                continue

    threads = [threading.Thread(target=accept, args=(server,)) for server in sockets]
    for thread in threads:
        thread.start()
    yield Listeners(sockets[0].getsockname()[1], sockets[1].getsockname()[1])
    stop.set()
    for thread, server in zip(threads, sockets, strict=True):
        thread.join()
        server.close()


@pytest.fixture(scope="module")
def live(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveDockyard]:
    """A live dockyard with its default settings, but for kaniko build steps on a network
    (the engine's default bridge, as BuildKit's)."""
    root = tmp_path_factory.mktemp("networks")
    with serving(root, DOCKYARD_KANIKO_NETWORK_IMAGE="local/busybox:1") as live:
        yield live


@pytest.fixture(scope="module")
def docker_api() -> docker.APIClient:
    return docker.APIClient(base_url=DOCKER_HOST)


def dockyard_targets(live: LiveDockyard, listeners: Listeners) -> dict[str, tuple[str, int]]:
    ports = {
        "api": live.process.port,
        "registry": live.process.registry_port,
        "postgres": POSTGRES_PORT,
        "loopback-listener": listeners.loopback,
        "any-address-listener": listeners.everywhere,
    }
    return {
        **{f"loopback:{name}": ("127.0.0.1", port) for name, port in ports.items()},
        **{f"gateway:{name}": ("$GATEWAY", port) for name, port in ports.items()},
    }


@contextlib.contextmanager
def in_project(live: LiveDockyard, name: str) -> Iterator[LiveDockyard]:
    """The same server, as seen through a new project `name`, deleted after the block (its
    worker then stops its runs; a stopped server would leave their containers running)."""
    created = live.http.post("/v1/projects", json={"name": name})
    assert created.status_code == 200, created.text
    project = created.json()["data"]["id"]
    try:
        yield dataclasses.replace(live, project=project)
    finally:
        delete_project(live, project)


def delete_project(live: LiveDockyard, project: str) -> int:
    params = {"delete_child_objects": "true"}
    return live.http.delete(f"/v1/projects/{project}", params=params).status_code


def run_to_end(live: LiveDockyard, name: str, script: str) -> list[str]:
    job = busybox_job(live, name, script)
    run_id = start(live, job)
    run = live.wait_for(f"/jobs/{job}/runs/{run_id}", timeout=120)
    lines = live.lines_of("run", run_id)
    assert run["status"] == "SUCCESS", lines
    return lines


def container_address(docker_api: docker.APIClient, run_id: str) -> str:
    """The IP address of the run's container on its network; 127.0.0.1 on the host's."""
    [summary] = docker_api.containers(filters={"label": f"dockyard.run={run_id}"})
    networks = docker_api.inspect_container(summary["Id"])["NetworkSettings"]["Networks"]
    addresses = [network["IPAddress"] for network in networks.values() if network["IPAddress"]]
    return addresses[0] if addresses else "127.0.0.1"


def test_a_job_cannot_connect_to_the_machines_services(
    live: LiveDockyard, listeners: Listeners
) -> None:
    targets = dockyard_targets(live, listeners)

    lines = run_to_end(live, "knocks on the host", connect_script(targets))

    assert verdicts(lines, list(targets)) == dict.fromkeys(targets, "SHUT"), lines


@pytest.mark.parametrize("engine", ENGINES)
def test_a_build_step_cannot_connect_to_the_machines_services(
    live: LiveDockyard, listeners: Listeners, engine: str
) -> None:
    if engine == "kaniko":
        push_base_image(live)
    targets = dockyard_targets(live, listeners)
    repo = live.sample.repo
    dockerfile = "FROM local/busybox:1\nCOPY knock.sh /knock.sh\nRUN sh /knock.sh\n"
    branch = f"knock-{engine}"
    repo.commit({"Dockerfile": dockerfile, "knock.sh": connect_script(targets)}, branch=branch)
    job = live.post(
        "/jobs/manual",
        {
            "name": f"builds and knocks {engine}",
            "billing": {"deploymentPlan": "nf-compute-20"},
            "backoffLimit": 0,
            "deployment": {
                "vcs": {
                    "projectUrl": repo.url,
                    "projectType": "github",
                    "projectBranch": branch,
                },
            },
            "buildSettings": {
                "dockerfile": {
                    "buildEngine": engine,
                    "dockerFilePath": "/Dockerfile",
                    "dockerWorkDir": "/",
                }
            },
        },
    )["id"]

    build = live.post(f"/jobs/{job}/build", {})
    concluded = live.wait_for(f"/jobs/{job}/build/{build['id']}")
    lines = live.lines(build["id"])

    assert concluded["status"] == "SUCCESS", lines
    assert not any(line.endswith("gateway: none") for line in lines), lines  # on a bridge
    assert verdicts(lines, list(targets)) == dict.fromkeys(targets, "SHUT"), lines


def test_a_job_cannot_connect_to_another_projects_job(
    live: LiveDockyard, docker_api: docker.APIClient
) -> None:
    port = free_port()
    with in_project(live, "Victim") as victim, in_project(live, "Attacker") as attacker:
        server = busybox_job(victim, "serves", f"trap 'exit 143' TERM; httpd -f -p {port} & wait")
        server_run = start(victim, server)
        victim.wait_for(f"/jobs/{server}/runs/{server_run}", lambda run: run["active"] == 1)
        target = {"victim": (container_address(docker_api, server_run), port)}

        from_elsewhere = run_to_end(attacker, "knocks", connect_script(target))
        from_its_own_project = run_to_end(victim, "neighbour", connect_script(target))

    assert verdicts(from_elsewhere, ["victim"]) == {"victim": "SHUT"}, from_elsewhere
    assert verdicts(from_its_own_project, ["victim"]) == {"victim": "OPEN"}, from_its_own_project


def project_networks(live: LiveDockyard, docker_api: docker.APIClient, project: str) -> list[str]:
    """The names of the server's networks of `project`."""
    labels = [f"{LABEL_INSTALLATION}={live.registry}", f"{LABEL_PROJECT}={project}"]
    return [network["Name"] for network in docker_api.networks(filters={"label": labels})]


def test_a_project_network_comes_with_the_first_run_and_goes_with_the_project(
    live: LiveDockyard, docker_api: docker.APIClient
) -> None:
    with in_project(live, "Doomed") as doomed:
        assert project_networks(live, docker_api, doomed.project) == []
        job = busybox_job(doomed, "still running", "trap 'exit 143' TERM; sleep 300 & wait")
        run_id = start(doomed, job)
        doomed.wait_for(f"/jobs/{job}/runs/{run_id}", lambda run: run["active"] == 1)

        [network] = project_networks(live, docker_api, doomed.project)
        assert network.startswith(f"dockyard-{doomed.project}-")

        assert delete_project(live, doomed.project) == 200
    deadline = time.monotonic() + 60
    while project_networks(live, docker_api, doomed.project) and time.monotonic() < deadline:
        time.sleep(0.5)
    assert project_networks(live, docker_api, doomed.project) == []


def test_dockyard_gc_removes_the_networks_of_deleted_projects_once_unused(
    live: LiveDockyard, docker_api: docker.APIClient
) -> None:
    """A network left by a project that is gone (say, deleted while its worker was down) and
    still used by a container: gc names it and leaves it; once unused it goes."""
    gone = f"gone-{uuid.uuid4().hex[:8]}"
    labels = {LABEL_INSTALLATION: live.registry, LABEL_PROJECT: gone}
    network = docker_api.create_network(f"dockyard-{gone}", labels=labels)["Id"]
    container = docker_api.create_container(
        "local/busybox:1",
        ["sleep", "300"],
        labels={"dockyard.test": "1"},
        host_config=docker_api.create_host_config(network_mode=network),
    )["Id"]
    try:
        docker_api.start(container)

        listed = gc(live, "--dry-run")
        in_use = gc(live)

        assert f"would remove network {network[:12]} of deleted project {gone}" in listed
        assert "0 networks (1 still used by containers)" in in_use
        assert project_networks(live, docker_api, gone) == [f"dockyard-{gone}"]
    finally:
        docker_api.remove_container(container, force=True)
    gc(live)  # or the server's worker, whichever comes first
    assert project_networks(live, docker_api, gone) == []
