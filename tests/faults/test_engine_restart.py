"""The Docker engine restarts (an upgrade: SIGTERM; an OOM kill: SIGKILL) under a live
`dockyard up`, on an engine of the tests' own (tests/faults/engine.py).

The rule for builds: a build whose engine goes away mid-build ends FAILURE, its message naming
the engine that went away; it is not retried (BuildKit's session died with the engine), the
user starts it again. A run's attempt whose container the engine killed counts as failed and
is retried under backoffLimit; a container a live-restore engine kept running is reattached.
Nothing waits for a restart of dockyard.
"""

from __future__ import annotations

import math
import secrets
import signal
import time
from collections import defaultdict
from collections.abc import Iterator
from typing import Any

import pytest

from tests.builds.conftest import LiveDockyard, is_concluded, live_with_project
from tests.builds.test_job_builds import vcs_job
from tests.faults.engine import SecondEngine, restart_engine, second_engine_running
from tests.gitrepos import make_sample_repo
from tests.reliability.soak import ContainerWatch
from tests.runs.conftest import busybox_job

SLOW_DOCKERFILE = 'FROM local/busybox:1\nARG NONCE\nRUN echo "building $NONCE"; sleep 60\n'
QUICK_DOCKERFILE = 'FROM local/busybox:1\nARG NONCE\nRUN echo "$NONCE" > /nonce\n'
# A busybox shell as a container's PID 1 ignores SIGTERM unless it traps it: the engine would
# wait its 10 s before SIGKILL when it stops the container.
TICKS = (
    'trap "exit 143" TERM; i=0; '
    'while [ $i -lt {count} ]; do i=$((i+1)); echo "tick $i"; sleep 0.4; done; exit {code}'
)
SEEN_TIMEOUT = 60.0


@pytest.fixture(scope="module")
def second_engine() -> Iterator[SecondEngine]:
    with second_engine_running() as engine:
        yield engine


@pytest.fixture(scope="module")
def live(
    second_engine: SecondEngine, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[LiveDockyard]:
    root = tmp_path_factory.mktemp("engine-restart")
    sample = make_sample_repo(root / "git")
    sample.repo.commit(
        {"slow.Dockerfile": SLOW_DOCKERFILE, "Dockerfile": QUICK_DOCKERFILE}, "faults"
    )
    env = {
        "DOCKER_HOST": second_engine.host,
        "DOCKYARD_CONTAINER_NETWORK": "bridge",  # the engine has no pool for project networks
        "DOCKYARD_RUN_BACKOFF_SCALE": "0.01",
    }
    with live_with_project(root, sample, "Engine faults", **env) as live:
        slow = {"dockerfile": {"dockerFilePath": "/slow.Dockerfile", "dockerWorkDir": "/"}}
        vcs_job(live, "slow-image", buildSettings=slow)
        vcs_job(live, "image")
        yield live


def start_build(live: LiveDockyard, job: str) -> str:
    body = {"overrides": {"buildArguments": {"NONCE": secrets.token_hex(8)}}}
    build_id: str = live.post(f"/jobs/{job}/build", body)["id"]
    return build_id


def wait_for_line(live: LiveDockyard, kind: str, owner: str, text: str) -> None:
    """Until a stored line of the build or run contains `text`."""
    deadline = time.monotonic() + SEEN_TIMEOUT
    while not any(text in line for line in live.lines_of(kind, owner)):
        if time.monotonic() > deadline:
            pytest.fail(f"{kind} {owner} never wrote {text!r}: {live.lines_of(kind, owner)}")
        time.sleep(0.1)


def ticker_job(live: LiveDockyard, name: str, count: int, code: int, backoff_limit: int) -> str:
    command = TICKS.format(count=count, code=code)
    return busybox_job(live, name, command, backoffLimit=backoff_limit)


def container_lines(live: LiveDockyard, job: str, run_id: str) -> dict[str, list[str]]:
    """The run's stored lines, oldest first, by container (attempt)."""
    response = live.http.get(
        f"/v1/projects/{live.project}/jobs/{job}/logs",
        params={"runId": run_id, "direction": "forward", "lineLimit": 1000},
    )
    assert response.status_code == 200, response.text
    lines: defaultdict[str, list[str]] = defaultdict(list)
    for entry in response.json()["data"]:
        lines[entry["containerId"]].append(entry["log"])
    return lines


def ticks(lines: list[str]) -> list[str]:
    return [line for line in lines if line.startswith("tick ")]


def run_through_restart(
    live: LiveDockyard, engine: SecondEngine, job: str, sig: signal.Signals, after_line: str
) -> tuple[dict[str, Any], dict[int, int]]:
    """A run of `job`, its engine restarted (`restart_engine` with `sig`) once the run has
    stored `after_line`: the concluded run, and attempt -> how many containers the engine
    started for it (its events before the restart and the new engine's after)."""
    before = ContainerWatch(live.project, engine.host)
    before.start()
    run_id = live.post(f"/jobs/{job}/runs", {})["id"]
    wait_for_line(live, "run", run_id, after_line)
    restarted_at = time.time()
    restart_engine(engine, sig)
    run = live.wait_for(f"/jobs/{job}/runs/{run_id}", is_concluded)
    after = ContainerWatch(
        live.project, engine.host, since=math.floor(restarted_at), until=math.ceil(time.time())
    )
    after.run()  # `until` ends the stream
    before.close()
    after.close()
    started: defaultdict[int, set[str]] = defaultdict(set)
    for watch in (before, after):
        for (run_of, attempt), ids in watch.started.items():
            if run_of == run_id:
                started[attempt] |= ids
    return run, {attempt: len(ids) for attempt, ids in started.items()}


def use_live_restore(engine: SecondEngine, live_restore: bool) -> None:
    if engine.live_restore != live_restore:
        restart_engine(engine, signal.SIGTERM, live_restore=live_restore)


@pytest.mark.parametrize("sig", [signal.SIGKILL, signal.SIGTERM], ids=["sigkill", "sigterm"])
def test_build_during_engine_restart_fails_naming_the_engine(
    live: LiveDockyard, second_engine: SecondEngine, sig: signal.Signals
) -> None:
    """The user sees the build in BUILDING end FAILURE (not stuck in progress, not retried),
    its message saying the Docker engine went away during `docker build`; building it again
    succeeds on the restarted engine, with the same dockyard."""
    use_live_restore(second_engine, False)
    build_id = start_build(live, "slow-image")
    wait_for_line(live, "build", build_id, "building ")
    assert live.get(f"/jobs/slow-image/build/{build_id}")["status"] == "BUILDING"

    restart_engine(second_engine, sig)

    build = live.wait_for(f"/jobs/slow-image/build/{build_id}", is_concluded)
    assert build["status"] == "FAILURE", build
    assert build["message"].startswith("BUILDING: The Docker engine at "), build["message"]
    assert "went away during `docker build` (restarted or killed)" in build["message"]
    again = start_build(live, "image")
    assert live.wait_for(f"/jobs/image/build/{again}", is_concluded)["status"] == "SUCCESS"


@pytest.mark.parametrize(
    ("sig", "reason"),
    [
        (signal.SIGKILL, "the container engine restarted during the attempt"),
        (signal.SIGTERM, "exit code 143"),
    ],
    ids=["sigkill", "sigterm"],
)
def test_run_whose_container_the_engine_killed_is_retried(
    live: LiveDockyard, second_engine: SecondEngine, sig: signal.Signals, reason: str
) -> None:
    """Without live-restore the container does not outlive the engine: a stopping engine
    (SIGTERM) stops it, a killed one's successor kills it as it starts. The user sees attempt
    1 fail (the engine's SIGTERM; "the container engine restarted during the attempt") and
    attempt 2 run to the end: the run ends SUCCESS with succeeded 1, failed 1, one container
    per attempt, each line stored once."""
    use_live_restore(second_engine, False)
    job = ticker_job(live, f"retried-after-{sig.name.lower()}", count=5, code=0, backoff_limit=1)

    run, started = run_through_restart(live, second_engine, job, sig, "tick 1")

    assert (run["status"], run["succeeded"], run["failed"]) == ("SUCCESS", 1, 1), run
    assert started == {1: 1, 2: 1}
    run_id = run["id"]
    lines = container_lines(live, job, run_id)
    first, second = lines[f"dockyard-run-{run_id}-1"], lines[f"dockyard-run-{run_id}-2"]
    assert ticks(second) == [f"tick {i}" for i in range(1, 6)]
    assert ticks(first) == [f"tick {i}" for i in range(1, len(ticks(first)) + 1)]
    assert any(line.startswith("Attempt 1 failed (") and reason in line for line in first), first


def test_live_restored_container_is_reattached(
    live: LiveDockyard, second_engine: SecondEngine
) -> None:
    """With live-restore the container outlives the engine's restart: the user sees one
    attempt whose log has every line once, in order, and the container's own exit code
    (7: the run FAILED after backoffLimit 0), with no second attempt."""
    use_live_restore(second_engine, True)
    job = ticker_job(live, "kept-over-restart", count=8, code=7, backoff_limit=0)

    run, started = run_through_restart(live, second_engine, job, signal.SIGTERM, "tick 2")

    assert (run["status"], run["succeeded"], run["failed"]) == ("FAILED", 0, 1), run
    assert "exit code 7" in run["message"], run["message"]
    assert started == {1: 1}
    lines = container_lines(live, job, run["id"])[f"dockyard-run-{run['id']}-1"]
    assert ticks(lines) == [f"tick {i}" for i in range(1, 9)], lines
    assert "Attempt 1 exited with code 7" in lines


@pytest.mark.parametrize(
    ("sig", "live_restore"),
    [(signal.SIGKILL, False), (signal.SIGTERM, True)],
    ids=["sigkill", "sigterm-live-restore"],
)
def test_idle_restart_leaves_no_wedged_worker(
    live: LiveDockyard, second_engine: SecondEngine, sig: signal.Signals, live_restore: bool
) -> None:
    """After the engine restarted while nothing ran, the user's next build and next run
    succeed on the same dockyard, which was not restarted."""
    use_live_restore(second_engine, live_restore)
    restart_engine(second_engine, sig)

    build_id = start_build(live, "image")
    job = ticker_job(live, f"after-idle-{sig.name.lower()}", count=2, code=0, backoff_limit=0)
    run_id = live.post(f"/jobs/{job}/runs", {})["id"]
    assert live.wait_for(f"/jobs/image/build/{build_id}", is_concluded)["status"] == "SUCCESS"
    run = live.wait_for(f"/jobs/{job}/runs/{run_id}", is_concluded)
    assert (run["status"], run["succeeded"], run["failed"]) == ("SUCCESS", 1, 0), run
