"""A live `dockyard up` for benchmarks: a fresh data dir, its own port and registry, an admin
token, and an HTTP client for the API."""

from __future__ import annotations

import contextlib
import os
import re
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx

DOCKER_HOST = os.environ.get("DOCKER_HOST", "unix:///var/run/docker.sock")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


class LiveServer:
    def __init__(self, root: Path, env: dict[str, str] | None = None) -> None:
        self.data_dir = root / "dockyard"
        self.registry = f"127.0.0.1:{free_port()}"
        port = free_port()
        self.output = (root / "dockyard.log").open("w+")
        self.process = subprocess.Popen(
            [sys.executable, "-m", "dockyard", "up"],
            env=os.environ
            | {
                "DOCKYARD_DATA_DIR": str(self.data_dir),
                "DOCKYARD_LISTEN": f"127.0.0.1:{port}",
                "DOCKYARD_REGISTRY": self.registry,
                "DOCKYARD_LOG_LEVEL": "warning",
                "DOCKER_HOST": DOCKER_HOST,
            }
            | (env or {}),
            stdout=self.output,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        self.http = httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=30)
        try:
            self._wait_ready()
            self.http.headers["Authorization"] = f"Bearer {self._token()}"
            self.ok(self.http.post("/v1/projects", json={"name": "bench"}))
        except BaseException:
            self.stop()  # a server that cannot be used is not left running
            raise

    def _wait_ready(self) -> None:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            with contextlib.suppress(httpx.HTTPError):
                if self.http.get("/ready").status_code == 200:
                    return
            time.sleep(0.2)
        raise SystemExit(f"dockyard did not come up:\n{self._log()}")

    def _log(self) -> str:
        self.output.seek(0)
        return self.output.read()

    def _token(self) -> str:
        match = re.search(r"admin token \(shown once\): (\S+)", self._log())
        if not match:
            raise SystemExit(f"no admin token printed:\n{self._log()}")
        return match[1]

    @staticmethod
    def ok(response: httpx.Response) -> dict[str, object]:
        """The `data` of a 200 answer; any other ends the benchmark."""
        if response.status_code != 200:
            raise SystemExit(f"{response.request.url}: {response.status_code} {response.text}")
        data: dict[str, object] = response.json()["data"]
        return data

    def stop(self) -> None:
        os.killpg(self.process.pid, signal.SIGTERM)
        self.process.wait(timeout=30)
