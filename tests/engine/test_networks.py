"""Project networks on the real Docker engine: one per project however many workers ask at
once, labelled, apart from another installation's, not removed while a container uses it."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Iterator

import docker
import pytest

from dockyard.engine.base import ContainerSpec
from dockyard.engine.containers import DockerEngine
from dockyard.engine.networks import LABEL_PROJECT, ProjectNetwork
from tests.engine.conftest import DOCKER_HOST

pytestmark = [pytest.mark.anyio, pytest.mark.e2e]

INSTALLATION = "127.0.0.1:5999"


@pytest.fixture
def project_id(docker_client: docker.DockerClient) -> Iterator[str]:
    """A project id of its own; its networks (of any installation) are removed afterwards."""
    project_id = f"test-{uuid.uuid4().hex[:10]}"
    yield project_id
    for network in docker_client.networks.list(filters={"label": f"{LABEL_PROJECT}={project_id}"}):
        network.remove()


async def test_concurrent_workers_get_one_network(
    project_id: str, docker_client: docker.DockerClient
) -> None:
    workers = [DockerEngine(DOCKER_HOST) for _ in range(6)]

    ids = await asyncio.gather(*(w.project_network(INSTALLATION, project_id) for w in workers))

    networks = docker_client.networks.list(filters={"label": f"{LABEL_PROJECT}={project_id}"})
    assert [network.id for network in networks] == [ids[0]]
    assert set(ids) == {ids[0]}
    attributes = docker_client.api.inspect_network(ids[0])
    assert attributes["Name"] == ProjectNetwork(INSTALLATION, project_id).name
    assert attributes["Driver"] == "bridge"
    assert (await workers[0].project_networks(INSTALLATION))[ids[0]] == project_id


async def test_another_installation_has_its_own_network(project_id: str) -> None:
    engine = DockerEngine(DOCKER_HOST)

    ours = await engine.project_network(INSTALLATION, project_id)
    theirs = await engine.project_network("127.0.0.1:6000", project_id)

    assert ours != theirs
    assert set(await engine.project_networks(INSTALLATION)) >= {ours}
    assert theirs not in await engine.project_networks(INSTALLATION)


async def test_a_network_in_use_stays(project_id: str) -> None:
    engine = DockerEngine(DOCKER_HOST)
    network = await engine.project_network(INSTALLATION, project_id)
    spec = ContainerSpec(
        name=f"dockyard-test-{uuid.uuid4().hex[:12]}",
        image="local/busybox:1",
        command=["sleep", "30"],
        labels={"dockyard.test": "1"},
        network_mode=network,
    )
    state = await engine.start(spec)
    try:
        assert await engine.address(state.id)
        assert not await engine.remove_network(network)
    finally:
        await engine.remove(state.id)
    assert await engine.remove_network(network)
    assert network not in await engine.project_networks(INSTALLATION)
