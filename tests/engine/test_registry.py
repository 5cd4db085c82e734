"""Pushes to a real registry (Debian's docker-registry on 127.0.0.1) and its HTTP API."""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from collections.abc import Iterator
from pathlib import Path

import docker
import pytest
from docker.errors import ImageNotFound

from dockyard.engine.base import RegistryCredentials
from dockyard.engine.buildkit import BuildkitBuilder
from dockyard.engine.containers import auth_config
from dockyard.engine.registry import (
    DockerPusher,
    HttpRegistry,
    image_reference,
    start_local_registry,
)
from dockyard.engine.retries import RegistryRetries
from dockyard.errors import EngineUnavailable, Invalid
from tests.engine.conftest import DOCKER_HOST
from tests.live import free_port

pytestmark = pytest.mark.anyio
SHA = "0123456789abcdef0123456789abcdef01234567"


@pytest.fixture
def built_image(tmp_path: Path, docker_client: docker.DockerClient) -> Iterator[str]:
    """A fresh local image (unique content) by its tag, removed afterwards with its pushes."""
    (tmp_path / "Dockerfile").write_text(
        f"FROM local/busybox:1\nRUN echo {uuid.uuid4()} > /id.txt\n"
    )
    tag = f"dockyard-test/push:{uuid.uuid4().hex[:12]}"
    asyncio.run(BuildkitBuilder(DOCKER_HOST).build(tmp_path, tag=tag))
    yield tag
    image_id = docker_client.images.get(tag).id
    assert image_id is not None
    docker_client.images.remove(image_id, force=True)


def test_image_reference() -> None:
    assert image_reference("127.0.0.1:5000", "my-project", "api-job", SHA) == (
        f"127.0.0.1:5000/my-project/api-job:{SHA}"
    )
    with pytest.raises(Invalid):
        image_reference("127.0.0.1:5000", "My Project", "job", SHA)
    assert image_reference("r:1", "p", "svc", "joyous-view-6290").endswith(":joyous-view-6290")
    with pytest.raises(Invalid):
        image_reference("127.0.0.1:5000", "p", "job", "-latest")


@pytest.mark.e2e
async def test_push_then_manifest_exists_and_pull_works(
    built_image: str, registry_login: RegistryCredentials, docker_client: docker.DockerClient
) -> None:
    registry_address = registry_login.registry
    name = f"job-{uuid.uuid4().hex[:8]}"
    reference = image_reference(registry_address, "proj", name, SHA)
    registry = HttpRegistry(registry_address, registry_login)
    assert not await registry.manifest_exists(f"proj/{name}", SHA)
    lines: list[str] = []
    pusher = DockerPusher(DOCKER_HOST, registry_login)
    digest = await pusher.push(built_image, reference, on_line=lines.append)
    assert digest.startswith("sha256:")
    assert any(digest in line for line in lines)
    assert await registry.manifest_exists(f"proj/{name}", SHA)
    assert not await registry.manifest_exists(f"proj/{name}", "f" * 40)
    docker_client.images.remove(reference)
    with pytest.raises(ImageNotFound):
        docker_client.images.get(reference)
    pulled = docker_client.images.pull(reference, auth_config=auth_config(registry_login))
    assert f"{registry_address}/proj/{name}@{digest}" in pulled.attrs["RepoDigests"]


@pytest.mark.e2e
async def test_push_to_a_registry_that_does_not_answer(built_image: str) -> None:
    reference = image_reference("127.0.0.1:1", "proj", "job", SHA)
    lines: list[str] = []
    pusher = DockerPusher(DOCKER_HOST, retries=RegistryRetries((0.1, 0.1)))
    with pytest.raises(EngineUnavailable, match="registry unavailable after 3 tries"):
        await pusher.push(built_image, reference, on_line=lines.append)
    assert sum("pushing again in 0.1 s" in line for line in lines) == 2, lines


@pytest.mark.e2e
async def test_a_push_waits_for_a_registry_that_comes_back(
    built_image: str, tmp_path: Path, docker_client: docker.DockerClient
) -> None:
    """The registry is down when the push starts and answers a second later (a restart):
    the push tries again after its delays and succeeds, with every layer."""
    login = RegistryCredentials(f"127.0.0.1:{free_port()}", "dockyard-test", "s3cret-login")
    reference = image_reference(login.registry, "proj", "back", SHA)
    lines: list[str] = []
    pusher = DockerPusher(DOCKER_HOST, login, RegistryRetries((1.0, 1.0, 1.0, 1.0)))
    pushing = asyncio.ensure_future(pusher.push(built_image, reference, on_line=lines.append))
    await asyncio.sleep(1.2)
    registry = await asyncio.to_thread(start_local_registry, login.registry, tmp_path, login)
    try:
        digest = await pushing
        assert any("pushing again" in line for line in lines), lines
        docker_client.images.remove(reference)
        pulled = docker_client.images.pull(reference, auth_config=auth_config(login))
        assert f"{login.registry}/proj/back@{digest}" in pulled.attrs["RepoDigests"]
    finally:
        registry.terminate()
        registry.wait(timeout=10)
        with contextlib.suppress(ImageNotFound):
            docker_client.images.remove(reference)


@pytest.mark.e2e
async def test_a_refused_push_is_not_tried_again(
    built_image: str, registry_login: RegistryCredentials
) -> None:
    wrong = RegistryCredentials(registry_login.registry, registry_login.username, "wrong")
    reference = image_reference(registry_login.registry, "proj", "refused", SHA)
    lines: list[str] = []
    pusher = DockerPusher(DOCKER_HOST, wrong, RegistryRetries((5.0,)))
    with pytest.raises(EngineUnavailable) as failed:
        await pusher.push(built_image, reference, on_line=lines.append)
    assert "registry unavailable" not in failed.value.message
    assert not any("pushing again" in line for line in lines), lines


async def test_manifest_exists_needs_a_registry() -> None:
    with pytest.raises(EngineUnavailable, match="did not answer"):
        await HttpRegistry("127.0.0.1:1").manifest_exists("proj/job", SHA)


@pytest.mark.parametrize(("repository", "tag"), [("../v2", "x"), ("proj/job", "-x"), ("P/j", "t")])
async def test_manifest_exists_checks_its_arguments(repository: str, tag: str) -> None:
    with pytest.raises(Invalid):
        await HttpRegistry("127.0.0.1:1").manifest_exists(repository, tag)


@pytest.mark.e2e
async def test_a_push_that_would_change_nothing_is_skipped(
    built_image: str,
    registry_login: RegistryCredentials,
    tmp_path: Path,
    docker_client: docker.DockerClient,
) -> None:
    name = f"job-{uuid.uuid4().hex[:8]}"
    reference = image_reference(registry_login.registry, "proj", name, SHA)
    registry = HttpRegistry(registry_login.registry, registry_login)
    pusher = DockerPusher(DOCKER_HOST, registry_login)
    skipped = f"{reference}: the registry holds this image already"

    first: list[str] = []
    digest = await pusher.push(built_image, reference, on_line=first.append)
    assert not any(skipped in line for line in first)
    again: list[str] = []
    assert await pusher.push(built_image, reference, on_line=again.append) == digest
    assert again == [f"{skipped}, digest: {digest}"]

    # The tag deleted in the registry: pushed again.
    await registry.delete_manifest(f"proj/{name}", digest)
    restored: list[str] = []
    assert await pusher.push(built_image, reference, on_line=restored.append) == digest
    assert not any(skipped in line for line in restored)

    # Another image under the same tag: pushed, the tag moves.
    (tmp_path / "other").mkdir()
    (tmp_path / "other" / "Dockerfile").write_text(
        f"FROM local/busybox:1\nRUN echo {uuid.uuid4()} > /other.txt\n"
    )
    await BuildkitBuilder(DOCKER_HOST).build(tmp_path / "other", tag=reference)
    try:
        changed: list[str] = []
        moved = await pusher.push(reference, reference, on_line=changed.append)
        assert moved != digest and not any(skipped in line for line in changed)
        assert await registry.digest(f"proj/{name}", SHA) == moved
    finally:
        docker_client.images.remove(reference, force=True)
