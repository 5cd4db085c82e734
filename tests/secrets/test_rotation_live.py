"""Key rotation on a running installation loses nothing: while a writer keeps creating jobs
with secrets and rewriting one job's secret through a live `dockyard api`, `dockyard secrets
rotate-key --retire` rotates, re-seals and retires the old key; after a restart every value
the writer was told was stored opens, and the key file holds the new key alone."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import time
from pathlib import Path

import httpx
import pytest

from dockyard.config import Settings
from dockyard.secrets.crypto import KEY_FILE, read_key_ring
from tests.conftest import issue_token
from tests.helpers import minimal_job
from tests.live import DockyardProcess

pytestmark = pytest.mark.e2e

SETTLE = "2"


class Writer(threading.Thread):
    """Creates job after job with a secret, and rewrites the first job's secret in between;
    keeps what the server acknowledged."""

    def __init__(self, http: httpx.Client, project: str) -> None:
        super().__init__(daemon=True)
        self.http, self.project = http, project
        self.stop = threading.Event()
        self.created: dict[str, str] = {}
        self.rewritten: str | None = None
        self.failures: list[str] = []

    def run(self) -> None:
        jobs = f"/v1/projects/{self.project}/jobs"
        number = 0
        while not self.stop.is_set():
            number += 1
            value = f"value-{number:05}"
            body = minimal_job(f"writer {number:05}", runtimeEnvironment={"SECRET": value})
            made = self.http.post(f"{jobs}/manual", json=body)
            if made.status_code != 200:
                self.failures.append(made.text)
                continue
            self.created[made.json()["data"]["id"]] = value
            first = next(iter(self.created))
            update = {"runtimeEnvironment": {"SECRET": f"rewritten-{number:05}"}}
            if self.http.post(f"{jobs}/{first}/runtime-environment", json=update).is_success:
                self.rewritten = f"rewritten-{number:05}"


def start_api(data_dir: Path, port: int | None = None) -> DockyardProcess:
    process = DockyardProcess(data_dir, command="api", env={"DOCKYARD_KEY_SETTLE_SECONDS": SETTLE})
    if port is not None:
        process.port = port
    process.start().wait_ready()
    return process


def stored_secret(http: httpx.Client, project: str, job: str) -> str:
    reply = http.get(f"/v1/projects/{project}/jobs/{job}/runtime-environment")
    assert reply.status_code == 200, reply.text
    value: str = reply.json()["data"]["runtimeEnvironment"]["SECRET"]
    return value


def test_rotate_and_retire_under_a_writer_lose_nothing(tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    token = issue_token(Settings(data_dir=data_dir), name="writer", is_admin=True)
    server = start_api(data_dir)
    http = httpx.Client(
        base_url=server.url, headers={"Authorization": f"Bearer {token}"}, timeout=60
    )
    assert http.post("/v1/projects", json={"name": "Vault"}).status_code == 200
    writer = Writer(http, "vault")
    writer.start()
    while len(writer.created) < 5:
        time.sleep(0.05)

    rotation = subprocess.run(
        [sys.executable, "-m", "dockyard", "secrets", "rotate-key", "--retire"],
        env=os.environ
        | {"DOCKYARD_DATA_DIR": str(data_dir), "DOCKYARD_KEY_SETTLE_SECONDS": SETTLE},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    during = len(writer.created)
    while len(writer.created) < during + 5:  # the server seals with the new key alone now
        time.sleep(0.05)
    writer.stop.set()
    writer.join(timeout=60)
    assert rotation.returncode == 0, rotation.stdout + rotation.stderr
    assert "retired 1 old key(s)" in rotation.stdout
    assert writer.failures == []
    server.stop()

    ring = read_key_ring(data_dir / KEY_FILE)
    assert len(ring.keys) == 1 and ring.generation == 1
    restarted = start_api(data_dir, port=server.port)
    try:
        assert len(writer.created) > 10
        first, *others = writer.created
        assert stored_secret(http, "vault", first) == writer.rewritten
        for job in others:
            assert stored_secret(http, "vault", job) == writer.created[job]
    finally:
        http.close()
        restarted.stop()
