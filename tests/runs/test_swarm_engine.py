"""The run suite's core cases again with DOCKYARD_RUN_ENGINE=swarm: each attempt a replicated-job
service on a single-node swarm (scripts/swarm-up.sh, run here), recovery after a killed server
included."""

from __future__ import annotations

from collections.abc import Iterator

import docker
import pytest

from tests.builds.conftest import LiveDockyard
from tests.engine.test_swarm import ensure_swarm
from tests.live import DOCKER_HOST
from tests.runs import test_run_recovery, test_runs
from tests.runs.conftest import busybox_job, serving

pytestmark = pytest.mark.e2e

test_success_with_env_and_files = test_runs.test_success_with_env_and_files
test_failures_are_retried_up_to_the_backoff_limit = (
    test_runs.test_failures_are_retried_up_to_the_backoff_limit
)
test_active_deadline_stops_the_run = test_runs.test_active_deadline_stops_the_run
test_abort_sends_sigterm_first = test_runs.test_abort_sends_sigterm_first
test_failing_liveness_probe_restarts_the_attempt = (
    test_runs.test_failing_liveness_probe_restarts_the_attempt
)
test_http_and_tcp_probes_reach_the_container = (
    test_runs.test_http_and_tcp_probes_reach_the_container
)
test_vcs_job_runs_its_latest_build = test_runs.test_vcs_job_runs_its_latest_build
test_killed_mid_run_is_finished_on_the_same_container = (
    test_run_recovery.test_killed_mid_run_is_finished_on_the_same_container
)
test_lines_written_while_no_worker_watched_are_stored_once = (
    test_run_recovery.test_lines_written_while_no_worker_watched_are_stored_once
)
test_stopped_server_hands_runs_over = test_run_recovery.test_stopped_server_hands_runs_over
test_deleting_a_job_stops_its_runs = test_run_recovery.test_deleting_a_job_stops_its_runs


@pytest.fixture(scope="module", autouse=True)
def swarm_engine() -> Iterator[None]:
    """A swarm to run on, and DOCKYARD_RUN_ENGINE=swarm for every server started in this module
    (they inherit the environment: the recovery cases start their own)."""
    ensure_swarm()
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("DOCKYARD_RUN_ENGINE", "swarm")
        yield


@pytest.fixture(scope="module")
def live(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveDockyard]:
    with serving(tmp_path_factory.mktemp("swarm-runs")) as live:
        yield live


def test_an_attempt_runs_as_a_service(live: LiveDockyard) -> None:
    job = busybox_job(live, "as a service", "echo serviced; sleep 3")
    run_id = test_runs.start(live, job)
    path = f"/jobs/{job}/runs/{run_id}"
    live.wait_for(path, lambda run: run["active"] == 1, 30)

    services = docker.APIClient(base_url=DOCKER_HOST).services(
        filters={"label": f"dockyard.run={run_id}"}
    )

    assert [service["Spec"]["Name"] for service in services] == [f"dockyard-run-{run_id}-1"]
    assert live.wait_for(path, timeout=30)["status"] == "SUCCESS"
    assert "serviced" in live.lines_of("run", run_id)
    # Services cannot join a project's network: the server says its jobs are not contained.
    assert "job runs on the swarm use the host network" in live.process.output()
