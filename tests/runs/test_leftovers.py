"""A worker sweeps the containers job runs left behind (a concluded run's, a deleted run's)
on the real engine, and touches neither a live run's container nor another dockyard's."""

from __future__ import annotations

import secrets
import time
from collections.abc import Iterator
from pathlib import Path

import docker
import pytest
from docker.models.containers import Container

from tests.live import DOCKER_HOST
from tests.metrics.scrape import value
from tests.runs.conftest import busybox_job, serving
from tests.runs.test_runs import start

pytestmark = pytest.mark.e2e

LABEL_RUN = "dockyard.run"
LABEL_DATABASE = "dev.dockyard.database"


@pytest.fixture
def engine() -> Iterator[docker.DockerClient]:
    client = docker.DockerClient(base_url=DOCKER_HOST)
    yield client
    client.close()


def planted(engine: docker.DockerClient, labels: dict[str, str]) -> Container:
    """A running container carrying a run's labels, as a killed worker would leave it."""
    return engine.containers.run(
        "local/busybox:1", ["sleep", "600"], detach=True, labels=labels, stop_signal="SIGKILL"
    )


def exists(engine: docker.DockerClient, container: Container) -> bool:
    return any(c.id == container.id for c in engine.containers.list(all=True))


def test_leftovers_are_swept_and_a_live_run_is_not_touched(
    tmp_path: Path, engine: docker.DockerClient
) -> None:
    with serving(tmp_path, DOCKYARD_CONTAINER_SWEEP_SECONDS="1") as live:
        sleeper = busybox_job(live, "sleeper", "echo started; sleep 600")
        live_run = start(live, sleeper)
        live.wait_for(f"/jobs/{sleeper}/runs/{live_run}", lambda r: r["active"] == 1)
        running = engine.containers.get(f"dockyard-run-{live_run}-1")
        database = running.labels[LABEL_DATABASE]

        quick = busybox_job(live, "quick", "echo done")
        concluded = start(live, quick)
        live.wait_for(f"/jobs/{quick}/runs/{concluded}", lambda r: r["concluded"])

        of_concluded = planted(engine, {LABEL_RUN: concluded, LABEL_DATABASE: database})
        of_deleted = planted(engine, {LABEL_RUN: secrets.token_hex(12), LABEL_DATABASE: database})
        # Run ids are names: another dockyard's run may have this id.
        of_another = planted(engine, {LABEL_RUN: concluded, LABEL_DATABASE: "other"})
        try:
            deadline = time.monotonic() + 30
            while exists(engine, of_concluded) or exists(engine, of_deleted):
                assert time.monotonic() < deadline, "the leftovers were not swept"
                time.sleep(0.5)

            assert exists(engine, of_another)
            running.reload()
            assert running.status == "running"
            run = live.get(f"/jobs/{sleeper}/runs/{live_run}")
            assert run["status"] == "RUNNING", run
            assert value(live.http.get("/metrics").text, "dockyard_containers_swept_total") >= 2
        finally:
            of_another.remove(force=True)
            live.delete(f"/jobs/{sleeper}/runs/{live_run}")
            running.remove(force=True)
