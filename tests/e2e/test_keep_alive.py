"""A kept-alive connection left idle past the 5 s that clients (httpx) and uvicorn both use by
default is still served: the client, not the server, closes idle connections, so no request
is ever sent on a connection the server is closing (it would get no answer at all)."""

from __future__ import annotations

import http.client
import signal
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.live import DockyardProcess

IDLE_SECONDS = 6


@pytest.fixture
def api(tmp_path: Path) -> Iterator[DockyardProcess]:
    process = DockyardProcess(data_dir=tmp_path / "data", command="api").start()
    try:
        process.wait_ready()
        yield process
    finally:
        process.stop(signal.SIGTERM)


def answer(connection: http.client.HTTPConnection) -> int:
    """The status of GET /health on this connection (http.client reuses its socket and
    raises RemoteDisconnected when the server closed it)."""
    connection.request("GET", "/health")
    response = connection.getresponse()
    response.read()
    return response.status


def test_an_idle_kept_alive_connection_is_still_answered(api: DockyardProcess) -> None:
    connection = http.client.HTTPConnection("127.0.0.1", api.port, timeout=10)
    try:
        assert answer(connection) == 200
        socket_before = connection.sock
        time.sleep(IDLE_SECONDS)
        assert answer(connection) == 200
        assert connection.sock is socket_before
    finally:
        connection.close()
