"""HTTP health checks on the host network reach the container's port on this machine's
loopback directly, whatever proxy the worker's environment names."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from dockyard.runs.recipe import HealthProbe
from dockyard.worker.probes import ProbeFailed, Prober


class Answers(BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        self.send_response(200 if self.path == "/healthy" else 500)
        self.end_headers()

    def log_message(self, format: str, *args: object) -> None:
        pass


@pytest.fixture
def port() -> Iterator[int]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), Answers)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield server.server_address[1]
    server.shutdown()
    server.server_close()


@pytest.fixture(autouse=True)
def dead_proxy(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("HTTP_PROXY", "http_proxy", "ALL_PROXY", "all_proxy"):
        monkeypatch.setenv(name, "http://127.0.0.1:9")
    monkeypatch.delenv("NO_PROXY", raising=False)
    monkeypatch.delenv("no_proxy", raising=False)


def startup_probe(port: int, path: str) -> HealthProbe:
    return HealthProbe(
        protocol="HTTP",
        type="startupProbe",
        path=path,
        port=port,
        initial_delay_seconds=0,
        period_seconds=1,
        timeout_seconds=2,
        failure_threshold=2,
    )


def watch(probe: HealthProbe, lines: list[str]) -> None:
    # HTTP probes on the host network never use the container engine.
    no_engine: Any = None
    prober = Prober(no_engine, "unused", host_network=True, time_scale=0.01, on_line=lines.append)

    async def until_started() -> None:
        with pytest.raises(TimeoutError):  # a healthy container is watched forever
            await asyncio.wait_for(prober.watch([probe]), timeout=1)

    asyncio.run(until_started())


def test_a_healthy_port_passes_despite_a_proxy_in_the_environment(port: int) -> None:
    lines: list[str] = []
    watch(startup_probe(port, "/healthy"), lines)
    assert lines == [f"Startup probe succeeded: HTTP GET :{port}/healthy"]


def test_an_error_status_fails_the_probe(port: int) -> None:
    with pytest.raises(ProbeFailed, match="Startup probe failed 2 times"):
        watch(startup_probe(port, "/broken"), [])
