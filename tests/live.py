"""A live dockyard server: `dockyard up` (or another serving command) in a child process."""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import pytest

DOCKER_HOST = os.environ.get("DOCKER_HOST", "unix:///var/run/docker.sock")
# The installations (registry addresses) of the servers started and not yet cleaned up after:
# tests/conftest.py removes their project networks after each test module.
INSTALLATIONS: set[str] = set()


# Ports handed out by `free_port`: the kernel may give a port it just gave again once its
# probe socket is closed (a server's API and registry once got the same one).
HANDED_PORTS: set[int] = set()


def free_port() -> int:
    """A loopback port free now and never handed out before in this test session."""
    while True:
        with socket.socket() as sock:
            sock.bind(("127.0.0.1", 0))
            port: int = sock.getsockname()[1]
        if port not in HANDED_PORTS:
            HANDED_PORTS.add(port)
            return port


@dataclass
class DockyardProcess:
    """`dockyard up` (or another serving command) in a child process, its stdout collected."""

    data_dir: Path
    command: str = "up"
    env: dict[str, str] = field(default_factory=dict)
    port: int = field(default_factory=free_port)
    registry_port: int = field(default_factory=free_port)
    lines: list[str] = field(default_factory=list)
    process: subprocess.Popen[str] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> DockyardProcess:
        env = (
            os.environ
            | {
                "DOCKYARD_DATA_DIR": str(self.data_dir),
                "DOCKYARD_LISTEN": f"127.0.0.1:{self.port}",
                "DOCKYARD_REGISTRY": f"127.0.0.1:{self.registry_port}",
                "DOCKER_HOST": DOCKER_HOST,
                "PYTHONUNBUFFERED": "1",
            }
            | self.env
        )
        self.lines = []
        INSTALLATIONS.add(env["DOCKYARD_REGISTRY"])
        self.process = subprocess.Popen(
            [sys.executable, "-m", "dockyard", self.command],
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            start_new_session=True,
        )
        threading.Thread(target=self._collect, daemon=True).start()
        return self

    def _collect(self) -> None:
        assert self.process is not None and self.process.stdout is not None
        for line in self.process.stdout:
            self.lines.append(line.rstrip("\n"))

    def output(self) -> str:
        return "\n".join(self.lines)

    def wait_ready(self, timeout: float = 60, path: str = "/ready") -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            assert self.process is not None
            if self.process.poll() is not None:
                pytest.fail(f"dockyard exited with {self.process.returncode}:\n{self.output()}")
            try:
                if httpx.get(f"{self.url}{path}", timeout=2).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.2)
        pytest.fail(f"dockyard not ready within {timeout} s:\n{self.output()}")

    def admin_token(self) -> str | None:
        for line in self.lines:
            match = re.search(r"admin token \(shown once\): (\S+)", line)
            if match:
                return match[1]
        return None

    def stop(self, sig: int = signal.SIGTERM) -> int:
        assert self.process is not None
        if self.process.poll() is None:
            os.killpg(self.process.pid, sig)
        try:
            return self.process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(self.process.pid, signal.SIGKILL)
            pytest.fail(f"dockyard did not stop within 30 s of signal {sig}:\n{self.output()}")
