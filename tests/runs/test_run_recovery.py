"""Nothing lost, nothing twice: a run whose server is killed (SIGKILL) or stopped is finished by
the next one, on the same container; deleting a job stops its runs."""

from __future__ import annotations

import signal
import time
from pathlib import Path

import docker
import httpx

from tests.builds.conftest import LiveDockyard, start_live
from tests.live import DOCKER_HOST
from tests.runs.conftest import FAST, busybox_job, connect

COUNT_TO_FIVE = "for i in 1 2 3 4 5; do echo tick $i; sleep 1; done"


def containers_of(run_id: str) -> list[str]:
    # One listing call: the high-level list inspects each container after, and one removed
    # in between would fail it.
    client = docker.APIClient(base_url=DOCKER_HOST)
    found = client.containers(all=True, filters={"label": f"dockyard.run={run_id}"})
    return [name.lstrip("/") for container in found for name in container["Names"]]


def restart(root: Path, live: LiveDockyard, sig: int) -> LiveDockyard:
    """The same data dir served again; the client follows it to its new port."""
    live.process.stop(sig)
    process = start_live(root, live.sample, **FAST)
    live.http.base_url = httpx.URL(process.url)
    return LiveDockyard(process, live.http, live.sample, live.project)


def test_killed_mid_run_is_finished_on_the_same_container(tmp_path: Path) -> None:
    live = connect(tmp_path)
    job = busybox_job(live, "counting", COUNT_TO_FIVE)
    run_id = live.post(f"/jobs/{job}/runs", {})["id"]
    path = f"/jobs/{job}/runs/{run_id}"
    live.wait_for(path, lambda run: "tick 2" in live.lines_of("run", run_id), 30)

    live = restart(tmp_path, live, signal.SIGKILL)
    try:
        run = live.wait_for(path, timeout=60)
        assert run["status"] == "SUCCESS", run
        assert (run["succeeded"], run["failed"]) == (1, 0)
        ticks = [line for line in live.lines_of("run", run_id) if line.startswith("tick")]
        assert ticks[-1] == "tick 5", ticks
        assert containers_of(run_id) == [], "the attempt's container is removed once counted"
    finally:
        live.process.stop()


def test_lines_written_while_no_worker_watched_are_stored_once(tmp_path: Path) -> None:
    """The server is killed and the run's container ends before a new one starts: the new
    worker stores the lines it missed, each once, after those already stored, whatever it
    writes itself on reattaching."""
    live = connect(tmp_path)
    job = busybox_job(live, "unwatched", COUNT_TO_FIVE)
    run_id = live.post(f"/jobs/{job}/runs", {})["id"]
    path = f"/jobs/{job}/runs/{run_id}"
    live.wait_for(path, lambda run: "tick 2" in live.lines_of("run", run_id), 30)
    live.process.stop(signal.SIGKILL)
    client = docker.APIClient(base_url=DOCKER_HOST)
    for name in containers_of(run_id):
        client.wait(name, timeout=30)

    live = restart(tmp_path, live, signal.SIGKILL)
    try:
        assert live.wait_for(path, timeout=60)["status"] == "SUCCESS"
        ticks = [line for line in live.lines_of("run", run_id) if line.startswith("tick")]
        assert ticks == [f"tick {i}" for i in range(1, 6)]
    finally:
        live.process.stop()


def test_stopped_server_hands_runs_over(tmp_path: Path) -> None:
    live = connect(tmp_path)
    job = busybox_job(live, "handed over", COUNT_TO_FIVE)
    run_id = live.post(f"/jobs/{job}/runs", {})["id"]
    path = f"/jobs/{job}/runs/{run_id}"
    live.wait_for(path, lambda run: run["active"] == 1, 30)

    live = restart(tmp_path, live, signal.SIGTERM)
    try:
        run = live.wait_for(path, timeout=60)
        assert run["status"] == "SUCCESS" and run["succeeded"] == 1, run
        lines = live.lines_of("run", run_id)
        starts = [line for line in lines if line.startswith("Attempt 1 started")]
        assert len(starts) == 1, "one container for the attempt"
    finally:
        live.process.stop()


def test_deleting_a_job_stops_its_runs(tmp_path: Path) -> None:
    live = connect(tmp_path)
    try:
        job = busybox_job(live, "deleted", "trap 'exit 143' TERM; while true; do sleep 0.2; done")
        run_id = live.post(f"/jobs/{job}/runs", {})["id"]
        live.wait_for(f"/jobs/{job}/runs/{run_id}", lambda run: run["active"] == 1, 30)

        assert live.delete(f"/jobs/{job}").status_code == 200

        deadline = time.monotonic() + 30
        while containers_of(run_id):
            assert time.monotonic() < deadline, "the run of the deleted job kept running"
            time.sleep(0.2)
    finally:
        live.process.stop()
