"""HTTP and TCP health checks reach a container on a bridge from the worker, at the address the
engine gives (as the kubelet probes a pod's IP), whatever proxy the worker's environment
names."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable

import pytest

from dockyard.engine.base import ContainerSpec
from dockyard.engine.containers import DockerEngine
from dockyard.runs.recipe import HealthProbe
from dockyard.worker.probes import ProbeFailed, Prober
from tests.engine.conftest import DOCKER_HOST

pytestmark = [pytest.mark.anyio, pytest.mark.e2e]

PORT = 8080
# busybox httpd serves /www: /healthy answers 200, anything else 404.
SERVES = "mkdir -p /www && echo ok > /www/healthy && exec httpd -f -p 8080 -h /www"

Serve = Callable[[str], Awaitable[str]]


@pytest.fixture
def engine() -> DockerEngine:
    return DockerEngine(DOCKER_HOST)


@pytest.fixture
async def serving(engine: DockerEngine) -> AsyncIterator[Serve]:
    """Start busybox httpd on port 8080 in a container on the given network; its id."""
    started: list[str] = []

    async def start(network: str) -> str:
        spec = ContainerSpec(
            name=f"dockyard-test-{uuid.uuid4().hex[:12]}",
            image="local/busybox:1",
            command=["sh", "-c", SERVES],
            labels={"dockyard.test": "1"},
            network_mode=network,
        )
        state = await engine.start(spec)
        started.append(state.id)
        return state.id

    yield start
    for container_id in started:
        await engine.remove(container_id)


@pytest.fixture(autouse=True)
def dead_proxy(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("HTTP_PROXY", "http_proxy", "ALL_PROXY", "all_proxy"):
        monkeypatch.setenv(name, "http://127.0.0.1:9")
    monkeypatch.delenv("NO_PROXY", raising=False)
    monkeypatch.delenv("no_proxy", raising=False)


def startup_probe(protocol: str, path: str | None = None) -> HealthProbe:
    return HealthProbe(
        protocol=protocol,
        type="startupProbe",
        path=path,
        port=PORT,
        initial_delay_seconds=0,
        period_seconds=1,
        timeout_seconds=2,
        failure_threshold=20,
    )


async def watch(engine: DockerEngine, container_id: str, probe: HealthProbe) -> list[str]:
    lines: list[str] = []
    prober = Prober(engine, container_id, time_scale=0.1, on_line=lines.append)
    with pytest.raises(TimeoutError):  # a healthy container is watched forever
        await asyncio.wait_for(prober.watch([probe]), timeout=5)
    return lines


async def test_http_and_tcp_probes_reach_a_container_on_a_bridge(
    engine: DockerEngine, serving: Serve
) -> None:
    container = await serving("bridge")
    assert (await engine.address(container) or "").startswith("100.66.")

    assert await watch(engine, container, startup_probe("HTTP", "/healthy")) == [
        f"Startup probe succeeded: HTTP GET :{PORT}/healthy"
    ]
    assert await watch(engine, container, startup_probe("TCP")) == [
        f"Startup probe succeeded: TCP :{PORT}"
    ]


async def test_an_error_status_fails_the_probe(engine: DockerEngine, serving: Serve) -> None:
    container = await serving("bridge")
    probe = startup_probe("HTTP", "/missing").model_copy(update={"failure_threshold": 2})
    prober = Prober(engine, container, time_scale=0.1, on_line=[].append)
    with pytest.raises(ProbeFailed, match="Startup probe failed 2 times"):
        await prober.watch([probe])
