"""Base images from a registry that wants a login (htpasswd, as distribution does it): a build
without the login fails, with it (a per-build docker client configuration) succeeds."""

from __future__ import annotations

import base64
import json
import os
import shutil
import subprocess
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import bcrypt
import httpx
import pytest

from dockyard.engine.base import ImageBuilder, RegistryCredentials
from dockyard.engine.buildah import BuildahEngine
from dockyard.engine.buildkit import BuildkitBuilder
from dockyard.engine.dockercli import DOCKER_CLI
from dockyard.errors import BuildFailed
from tests.engine.conftest import DOCKER_HOST
from tests.live import free_port

pytestmark = [pytest.mark.e2e, pytest.mark.anyio]
USER, PASSWORD = "builder", "b4se-image-pass"


@pytest.fixture(scope="module")
def private_registry(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    root = tmp_path_factory.mktemp("private-registry")
    address = f"127.0.0.1:{free_port()}"
    hashed = bcrypt.hashpw(PASSWORD.encode(), bcrypt.gensalt(rounds=4)).decode()
    (root / "htpasswd").write_text(f"{USER}:{hashed}\n")
    (root / "config.yml").write_text(
        "version: 0.1\n"
        f"storage:\n  filesystem:\n    rootdirectory: {root / 'data'}\n"
        f"http:\n  addr: {address}\n"
        f"auth:\n  htpasswd:\n    realm: dockyard-test\n    path: {root / 'htpasswd'}\n"
    )
    registry = shutil.which("docker-registry")
    assert registry, "docker-registry is not installed (scripts/install.sh installs it)"
    process = subprocess.Popen(
        [registry, "serve", str(root / "config.yml")], stderr=subprocess.DEVNULL
    )
    try:
        deadline = time.monotonic() + 15
        while True:
            try:
                if httpx.get(f"http://{address}/v2/", timeout=1).status_code == 401:
                    break
            except httpx.HTTPError:
                pass
            assert time.monotonic() < deadline, "the private registry did not come up"
            time.sleep(0.1)
        yield address
    finally:
        process.terminate()
        process.wait(timeout=10)


def docker(*args: str, config: Path | None = None) -> None:
    env = (
        os.environ
        | {"DOCKER_HOST": DOCKER_HOST}
        | ({"DOCKER_CONFIG": str(config)} if config else {})
    )
    subprocess.run([DOCKER_CLI, *args], check=True, env=env, capture_output=True)


@pytest.fixture(scope="module")
def private_base(private_registry: str, tmp_path_factory: pytest.TempPathFactory) -> str:
    """local/busybox:1 pushed to the private registry, and no local tag of it left."""
    image = f"{private_registry}/private/base:{uuid.uuid4().hex[:8]}"
    config = tmp_path_factory.mktemp("docker-config")
    auth = base64.b64encode(f"{USER}:{PASSWORD}".encode()).decode()
    (config / "config.json").write_text(json.dumps({"auths": {private_registry: {"auth": auth}}}))
    docker("tag", "local/busybox:1", image)
    docker("push", image, config=config)
    docker("rmi", image)
    return image


def source_from(tmp_path: Path, base: str) -> Path:
    source = tmp_path / "source"
    source.mkdir()
    (source / "Dockerfile").write_text(f"FROM {base}\nRUN echo built on a private base\n")
    return source


def builder_of(engine: str, root: Path) -> ImageBuilder:
    if engine == "kaniko":
        return BuildahEngine(root / "buildah", "127.0.0.1:1")
    return BuildkitBuilder(DOCKER_HOST)


@pytest.mark.parametrize("engine", ["buildkit", "kaniko"])
async def test_private_base_needs_its_login(
    private_registry: str, private_base: str, tmp_path: Path, engine: str
) -> None:
    builder = builder_of(engine, tmp_path)
    source = source_from(tmp_path, private_base)
    tag = f"127.0.0.1:1/dockyard-test/private-base:{uuid.uuid4().hex[:8]}"

    with pytest.raises(BuildFailed) as refused:
        await builder.build(source, tag=tag, use_cache=False)
    message = refused.value.message.lower()
    assert "401" in message or "authoriz" in message or "authentication required" in message
    login = RegistryCredentials(private_registry, USER, PASSWORD)
    image_id = await builder.build(source, tag=tag, use_cache=False, registry_logins=[login])

    assert image_id.startswith("sha256:")
    if engine == "buildkit":
        docker("rmi", tag)
